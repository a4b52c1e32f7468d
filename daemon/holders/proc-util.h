/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What dmwarden reads about one process from a /proc tree (the real one or a
 * fixture, given as a directory fd), and the pure parsers behind it. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The parent PID and the PF_* flags from the text of /proc/PID/stat (whose
 * comm field may hold blanks and parentheses). */
int proc_parse_stat(const char *stat, pid_t *ret_ppid, unsigned *ret_flags);

#define PROC_PF_KTHREAD 0x00200000U

/* The systemd unit from the text of /proc/PID/cgroup: the first path
 * component below the slices, if it names a unit. *ret is NULL if there is
 * none (a process outside systemd's tree). */
int cgroup_parse_unit(const char *cgroup, char **ret);

/* The distinct paths of file mappings on device dev in the text of
 * /proc/PID/maps (a NULL-terminated array, possibly empty). */
int proc_maps_parse(const char *maps, dev_t dev, char ***ret);

/* The readers below take the /proc tree as a directory fd (a fixture in the
 * unit tests), or AT_FDCWD for the real /proc. A thread's TID works as a
 * PID: procfs answers /proc/TID for every thread, listed or not. */

/* The real /proc as such a directory fd, or a negative errno. */
int proc_open(void);

/* All of /proc/PID/name below proc_fd (PID 0: "self"), as read_full_at()
 * reads it: NUL-terminated, *ret_size (optional) without the NUL, -EFBIG if
 * longer than max_size. */
int proc_read_file(int proc_fd, pid_t pid, const char *name, size_t max_size, char **ret, size_t *ret_size);

/* The mount namespace inode of pid (0: of "self"). */
int proc_read_mntns(int proc_fd, pid_t pid, uint64_t *ret);
/* Calls f for every numeric entry (a PID, or a TID) of the directory path
 * below dir_fd: "." of a /proc fd, or "PID/task". f returning non-zero
 * stops the walk with that value (> 0: found what it looked for). */
typedef int (*proc_pid_func_t)(pid_t pid, void *userdata);
int proc_for_each_pid(int dir_fd, const char *path, proc_pid_func_t f, void *userdata);

/* How many threads process pid has now; -EIO on a tree that is not procfs. */
int proc_read_task_count(int proc_fd, pid_t pid, unsigned *ret);
int proc_read_stat(int proc_fd, pid_t pid, pid_t *ret_ppid, unsigned *ret_flags);
/* The command name, any bytes but NUL; only the kernel's newline is cut. */
int proc_read_comm(int proc_fd, pid_t pid, char **ret);
/* The systemd unit of the process (sd_pid_get_unit() on procfs, the same
 * reading of /proc/PID/cgroup on a fixture tree); *ret NULL if it has none. */
int proc_read_unit(int proc_fd, pid_t pid, char **ret);
/* The signals the process ignores (SigIgn of status; bit sig-1 for sig). */
int proc_read_ignored_signals(int proc_fd, pid_t pid, uint64_t *ret);

/* Whether an error reading /proc/PID means "not allowed" (counted as
 * inaccessible) or "gone" (the process exited while we looked). */
static inline bool proc_error_is_inaccessible(int r) {
        return r == -EACCES || r == -EPERM;
}
static inline bool proc_error_is_vanished(int r) {
        return r == -ENOENT || r == -ESRCH;
}
