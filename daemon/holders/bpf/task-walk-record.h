/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0-only */
#pragma once

/* What the task walk's BPF iterators write, read by task-walk.c. Shared by
 * the BPF program and user space: fixed-size types only. Device numbers
 * are the kernel's encoding (major << 20 | minor). */

#define TASK_WALK_MAX_DEVS 64

/* One record per task (thread) of the system, in PID order. */
enum {
        TASK_WALK_KTHREAD = 1 << 0,   /* a kernel thread */
        TASK_WALK_NO_NS = 1 << 1,     /* exiting: no namespaces any more */
        TASK_WALK_HIT_CWD = 1 << 2,   /* cwd may be on a device asked about */
        TASK_WALK_HIT_ROOT = 1 << 3,
        TASK_WALK_HIT_EXE = 1 << 4,
};

struct task_walk_task {
        __u32 tid;
        __u32 tgid;
        __u32 mntns;                  /* the inode of its mount namespace */
        __u32 flags;
};

/* One record per open file or mapping that may reference a device asked
 * about, or that is a namespace (it may keep a mount namespace alive). */
enum {
        TASK_WALK_FILE = 1,           /* an fd */
        TASK_WALK_MAP = 2,            /* a file-backed mapping */
};

struct task_walk_hit {
        __u32 tid;
        __u32 tgid;
        __u32 kind;
        __u32 fd;                     /* FILE: the fd */
};
