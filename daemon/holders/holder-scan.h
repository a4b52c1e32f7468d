/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Finding everything that keeps one block device busy: its mounts in every
 * mount namespace (named by the processes in it, or by what pins it), the
 * processes with files, cwd, root or maps on it or the node itself open, and
 * the block devices stacked on it. Reads the kernel, logs at debug only. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/macro.h"
#include "holders/mount-table.h"
#include "holders/stall-guard.h"
#include "holders/task-walk.h"

typedef enum HolderRefKind {
        HOLDER_REF_FD,           /* an open file on the device's filesystem */
        HOLDER_REF_DEVICE_NODE,  /* the block device node itself, open */
        HOLDER_REF_CWD,
        HOLDER_REF_ROOT,
        HOLDER_REF_EXE,
        HOLDER_REF_MAP,          /* a mapped file (the fd may be long closed) */
        _HOLDER_REF_KIND_MAX,
} HolderRefKind;

typedef struct HolderRef {
        HolderRefKind kind;
        int fd;                  /* FD and DEVICE_NODE; else -1 */
        char *path;              /* as the kernel names it; NULL if unreadable */
        pid_t tid;               /* CWD and ROOT of one thread with a cwd or
                                  * root of its own: its TID; else 0 */
} HolderRef;

typedef struct Holder {
        pid_t pid;
        pid_t tid;               /* a thread alone in this namespace (its
                                  * process, pid, is in another): its TID;
                                  * 0 for a whole process */
        pid_t ppid;
        char *comm;              /* NULL if it exited before we asked */
        char *unit;              /* systemd unit from the cgroup, or NULL */
        bool root_member;        /* its parent is not in the same namespace */
        HolderRef *refs;
        size_t n_refs;
} Holder;

typedef enum HolderPinKind {
        HOLDER_PIN_MOUNT,        /* an nsfs bind mount of the namespace */
        HOLDER_PIN_FD,           /* an open fd of the namespace */
        _HOLDER_PIN_KIND_MAX,
} HolderPinKind;

typedef struct HolderPin {
        HolderPinKind kind;
        uint64_t mntns;          /* MOUNT: the namespace the bind mount is in */
        char *path;              /* MOUNT: its mount point there */
        pid_t root_pid;          /* MOUNT: a process there, whose root the
                                  * path is seen from; 0: ours, or none */
        pid_t pid;               /* FD: the process and its fd */
        int fd;
} HolderPin;

/* A mount namespace with references in it: mounts of the device, and/or
 * processes holding it. */
typedef struct HolderNamespace {
        uint64_t ino;            /* as in /proc/PID/ns/mnt */
        uint64_t id;             /* the kernel's 64-bit id; 0 if not known */
        char **mount_points;     /* the device's mounts, as seen inside */
        uint64_t *mount_ids;     /* the id of each (listmount's or
                                  * mountinfo's); NULL: not known */
        size_t n_members;        /* processes in it */
        pid_t *members;          /* all of them, by PID */
        size_t n_threads;        /* threads in it whose process is not */
        pid_t *threads;          /* all of them, by TID */
        Holder *processes;       /* its root members, the processes with
                                  * references, or (describe_all) everyone */
        size_t n_processes;
        HolderPin *pins;         /* what keeps it alive (found ones) */
        size_t n_pins;
} HolderNamespace;

typedef enum StackedKind {
        STACKED_HOLDER,          /* /sys/dev/block/M:m/holders/NAME */
        STACKED_LOOP,            /* a loop device whose backing file is on it */
        _STACKED_KIND_MAX,
} StackedKind;

typedef struct StackedHolder {
        StackedKind kind;
        char *name;              /* kernel name: dm-3, loop5 */
        dev_t dev;               /* 0 if not known */
} StackedHolder;

typedef struct HolderScanOptions {
        dev_t dev;
        MountSource source;
        /* Look at every process's files, cwd, root and maps: the slow part,
         * needed when the open count says mounts do not explain it. */
        bool scan_files;
        /* Describe (comm, unit) every member of a holding namespace, not
         * only its root members. */
        bool describe_all;
        /* Trees to read; NULL means /proc and /sys. Tests pass fixtures. */
        const char *proc_root;
        const char *sys_root;
        /* Steps earlier scans stalled on, to skip (NULL: none). */
        StallGuard *stall_guard;
        /* How to find the processes: by the kernel's task walk (task_walk,
         * loaded by the caller; never on a fixture proc_root) or /proc.
         * AUTO takes the task walk if there is one, and /proc when it
         * cannot run. */
        HolderWalk walk;
        TaskWalk *task_walk;
} HolderScanOptions;

typedef struct HolderScan {
        dev_t dev;
        MountSource source;      /* the one actually used */
        HolderWalk walk;         /* the one actually used: PROC or BPF */
        bool files_scanned;
        uint64_t self_mntns;     /* the scanner's own namespace */

        HolderNamespace *namespaces;   /* sorted by inode */
        size_t n_namespaces;
        StackedHolder *stacked;
        size_t n_stacked;

        unsigned n_processes;               /* looked at */
        unsigned n_processes_inaccessible;  /* EACCES/EPERM: skipped */
        unsigned n_processes_vanished;      /* exited during the scan */
        unsigned n_steps_skipped;           /* an earlier scan stalled there */
        unsigned n_namespaces_scanned;
        unsigned n_namespaces_inaccessible;
        unsigned n_namespaces_cleared;      /* of those scanned, how many the
                                             * kernel's mount walk showed to
                                             * need no reading */
        uint64_t duration_usec;
} HolderScan;

int holder_scan(const HolderScanOptions *o, HolderScan **ret);
/* One scan of mounts for n devices (o->dev and o->scan_files unused: files
 * are matched by device as they are read, so -EINVAL with scan_files): one
 * walk over /proc and one read of each mount table serve them all. ret[i]
 * is what holder_scan() would say of devs[i]; all or none are set. */
int holder_scan_many(const HolderScanOptions *o, const dev_t *devs, size_t n, HolderScan **ret);
HolderScan *holder_scan_free(HolderScan *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HolderScan *, holder_scan_free);

/* Whether anything at all holds the device. */
bool holder_scan_is_empty(const HolderScan *s);

/* Whether what a scan without files found accounts for the device's open
 * count: one open for its filesystem if it is mounted anywhere (the
 * superblock holds the device once, however many mounts share it) and one
 * per stacked device. If not, someone has the node open, or files keep a
 * detached mount alive: scan again with scan_files. */
bool holder_scan_explains_open_count(const HolderScan *s, unsigned open_count);

const char *holder_ref_kind_to_string(HolderRefKind k);
const char *holder_pin_kind_to_string(HolderPinKind k);
const char *stacked_kind_to_string(StackedKind k);

/* The scan that explains open_count for the least work: with o->scan_files,
 * one scan as asked; otherwise mounts first, and all over again with files
 * only if holder_scan_explains_open_count() says the mounts do not account
 * for it. Callers that cannot count opens set scan_files themselves.
 * Returns 0, or the negative errno of the holder_scan() that failed:
 * -ENOMEM, -EOPNOTSUPP for listmount where the kernel lacks it, or why
 * proc_root, a mount table or sys_root could not be read. */
int holder_scan_for_open_count(const HolderScanOptions *o, unsigned open_count, HolderScan **ret);
