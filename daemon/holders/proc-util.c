/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "holders/mount-table.h"
#include "holders/proc-util.h"

int proc_parse_stat(const char *stat, pid_t *ret_ppid, unsigned *ret_flags) {
        const char *p = strrchr(stat, ')');
        unsigned flags;
        int ppid;
        char state;

        /* comm may contain ") ", so the last parenthesis ends it. Then:
         * state ppid pgrp session tty_nr tpgid flags. */
        if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %u", &state, &ppid, &flags) != 3 || ppid < 0)
                return -EINVAL;
        *ret_ppid = (pid_t) ppid;
        if (ret_flags)
                *ret_flags = flags;
        return 0;
}

static bool has_unit_suffix(const char *name, size_t n) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);

                if (n > l && memcmp(name + n - l, suffixes[i], l) == 0)
                        return true;
        }
        return false;
}

static bool is_slice(const char *name, size_t n) {
        return n > 6 && memcmp(name + n - 6, ".slice", 6) == 0;
}

/* The unit in a cgroup path such as /system.slice/foo.service/sub. */
static int unit_from_path(const char *path, size_t len, char **ret) {
        const char *p = path, *end = path + len;

        while (p < end) {
                const char *slash;
                size_t n;

                while (p < end && *p == '/')
                        p++;
                slash = memchr(p, '/', (size_t) (end - p));
                n = (size_t) ((slash ? slash : end) - p);
                if (n == 0)
                        break;
                if (!is_slice(p, n)) {
                        if (!has_unit_suffix(p, n))
                                break;
                        *ret = strndup(p, n);
                        return *ret ? 0 : -ENOMEM;
                }
                p += n;
        }
        *ret = NULL;
        return 0;
}

int cgroup_parse_unit(const char *cgroup, char **ret) {
        const char *v2 = NULL, *v1 = NULL;
        size_t v2_len = 0, v1_len = 0;

        /* Hybrid setups keep the unit tree in the named "systemd" v1
         * hierarchy; unified ones only have the "0::" line. */
        for (const char *line = cgroup; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);
                const char *path;

                if (n >= 3 && memcmp(line, "0::", 3) == 0) {
                        v2 = line + 3;
                        v2_len = n - 3;
                } else if ((path = memchr(line, ':', n)) && (size_t) (path - line) + 15 <= n &&
                           memcmp(path, ":name=systemd:", 14) == 0) {
                        v1 = path + 14;
                        v1_len = n - (size_t) (v1 - line);
                }
                line = nl ? nl + 1 : NULL;
        }

        if (v1)
                return unit_from_path(v1, v1_len, ret);
        if (v2)
                return unit_from_path(v2, v2_len, ret);
        *ret = NULL;
        return 0;
}

int proc_maps_parse(const char *maps, dev_t dev, char ***ret) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        paths = calloc(1, sizeof(char *));
        if (!paths)
                return -ENOMEM;

        for (const char *line = maps; line && *line;) {
                const char *nl = strchr(line, '\n');
                unsigned maj, min;
                unsigned long long ino;
                int path_at = -1;

                /* "START-END PERMS OFFSET MAJ:MIN INODE   PATH", device in hex. */
                if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &path_at) == 3 &&
                    path_at > 0 && ino != 0 && makedev(maj, min) == dev) {
                        const char *path = line + path_at;
                        size_t n = nl ? (size_t) (nl - path) : strlen(path);
                        char *copy = strndup(path, n);

                        if (!copy)
                                return -ENOMEM;
                        if (strv_contains(paths, copy))
                                free(copy);
                        else {
                                r = strv_consume(&paths, copy);
                                if (r < 0)
                                        return r;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }

        *ret = TAKE_PTR(paths);
        return 0;
}

int proc_open(void) {
        int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? negative_errno() : fd;
}

/* "PID/name" below proc_fd; AT_FDCWD stands for the real /proc and PID 0
 * for "self", so callers without a /proc fd of their own share the code. */
static void proc_path(char *buf, size_t size, int proc_fd, pid_t pid, const char *name) {
        const char *prefix = proc_fd == AT_FDCWD ? "/proc/" : "";

        if (pid == 0)
                (void) snprintf(buf, size, "%sself/%s", prefix, name);
        else
                (void) snprintf(buf, size, "%s%d/%s", prefix, (int) pid, name);
}

int proc_read_mntns(int proc_fd, pid_t pid, uint64_t *ret) {
        char path[64], target[64];
        ssize_t n;

        if (pid < 0)
                return -EINVAL;
        proc_path(path, sizeof(path), proc_fd, pid, "ns/mnt");
        n = readlinkat(proc_fd, path, target, sizeof(target) - 1);
        if (n < 0)
                return negative_errno();
        target[n] = 0;
        return nsfs_name_parse(target, "mnt", ret);
}

int proc_read_task_count(int proc_fd, pid_t pid, unsigned *ret) {
        struct statx stx;
        char path[64];

        /* procfs counts the live threads into the link count of the task
         * directory (2 + threads): the cheapest way to learn it, no file
         * to open, format and parse (see tests/bench/README.md). */
        proc_path(path, sizeof(path), proc_fd, pid, "task");
        if (statx(proc_fd, path, AT_STATX_DONT_SYNC, STATX_NLINK, &stx) < 0)
                return negative_errno();
        if (!(stx.stx_mask & STATX_NLINK) || stx.stx_nlink < 3)
                return -EIO; /* not procfs: a fixture, say */
        *ret = stx.stx_nlink - 2;
        return 0;
}

int proc_read_file(int proc_fd, pid_t pid, const char *name, size_t max_size, char **ret, size_t *ret_size) {
        char path[64];

        proc_path(path, sizeof(path), proc_fd, pid, name);
        return read_full_at(proc_fd, path, max_size, ret, ret_size);
}

int proc_read_stat(int proc_fd, pid_t pid, pid_t *ret_ppid, unsigned *ret_flags) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = proc_read_file(proc_fd, pid, "stat", 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        return proc_parse_stat(buf, ret_ppid, ret_flags);
}

int proc_read_comm(int proc_fd, pid_t pid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        r = proc_read_file(proc_fd, pid, "comm", 4096, &buf, &n);
        if (r < 0)
                return r;
        if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Whether proc_fd is procfs itself, not one of the tests' fixture trees. */
static bool is_procfs(int proc_fd) {
        struct statfs sfs;

        return fstatfs(proc_fd, &sfs) >= 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

int proc_read_unit(int proc_fd, pid_t pid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        /* The real thing: systemd's own reading of the cgroup. */
        if (is_procfs(proc_fd)) {
                r = sd_pid_get_unit(pid, ret);
                if (r >= 0)
                        return 0;
                *ret = NULL;
                /* No unit (a cgroup systemd does not manage, no systemd). */
                return IN_SET(r, -ENODATA, -ENXIO, -ENOMEDIUM) ? 0 : r;
        }
        r = proc_read_file(proc_fd, pid, "cgroup", 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_unit(buf, ret);
}

int proc_read_ignored_signals(int proc_fd, pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        unsigned long long mask;
        const char *line;
        int r;

        r = proc_read_file(proc_fd, pid, "status", 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        line = strstr(buf, "\nSigIgn:\t");
        if (!line || sscanf(line + strlen("\nSigIgn:\t"), "%llx", &mask) != 1)
                return -EBADMSG;
        *ret = mask;
        return 0;
}

int proc_for_each_pid(int dir_fd, const char *path, proc_pid_func_t f, void *userdata) {
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        while (r == 0 && (de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end != 0)
                        continue;
                r = f((pid_t) pid, userdata);
        }
        closedir(d);
        return r;
}
