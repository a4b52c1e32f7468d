/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-process part of a holder scan done in the kernel: BPF task, file
 * and mapping iterators (bpf/task-walk.bpf.c) list every task's IDs and
 * mount namespace in one pass, and name the processes whose files, cwd,
 * root, executable or mappings may reference the devices asked about.
 * holder-scan.c reads /proc for those few only. Available where dmwarden
 * was built with libbpf (-Dbpf) and the kernel has BTF and lets us load
 * BPF programs; task_walk_open() says why not otherwise. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/macro.h"
#include "shared/holder-walk.h"

/* The loaded programs, reference-counted: each scan's copy of its options
 * holds a reference, so a scan abandoned at its deadline keeps what it may
 * still walk with. Thread-safe: walks through one TaskWalk run one at a
 * time, and a walk that finds another under way says -EBUSY at once rather
 * than wait behind it. */
typedef struct TaskWalk TaskWalk;

/* Loads the programs. -EOPNOTSUPP (built without libbpf, no BTF, another
 * PID namespace than the initial one), -EPERM (not allowed: no CAP_BPF,
 * lockdown), or why loading failed; *ret_reason (optional) says it in
 * words, for the log and dmwardenctl. */
int task_walk_open(TaskWalk **ret, char **ret_reason);
/* Whether the mount walk loaded too (Linux 5.17 and later). */
bool task_walk_walks_mounts(const TaskWalk *w);
/* Both take NULL; unref returns NULL and unloads with the last reference. */
TaskWalk *task_walk_ref(TaskWalk *w);
TaskWalk *task_walk_unref(TaskWalk *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(TaskWalk *, task_walk_unref);

typedef struct TaskWalkTask {
        pid_t tid;
        pid_t tgid;
        uint64_t mntns;          /* 0: exiting, no namespace any more */
        bool kthread;
} TaskWalkTask;

typedef struct TaskWalkResult {
        TaskWalkTask *tasks;     /* every task, by (tgid, tid) */
        size_t n_tasks;
        pid_t *holding;          /* processes that may hold one of the */
        size_t n_holding;        /* devices (by tgid, sorted, unique) */
        bool mounts_known;       /* the mount walk ran and saw every mount: */
        uint64_t *mounting;      /* the only namespaces (by inode, sorted, */
        size_t n_mounting;       /* unique) with a mount of one of the
                                  * devices, or an nsfs mount of a mount
                                  * namespace */
        bool unmapped;           /* it saw every cached file of the devices
                                  * and none is mapped: no mapping walk ran */
} TaskWalkResult;

/* The most devices one walk can be asked about. */
#define TASK_WALK_MAX_DEVICES 64

typedef enum TaskWalkAsk {
        TASK_WALK_ASK_HOLDERS = 1 << 0,  /* which processes may hold the devices */
        TASK_WALK_ASK_MOUNTS = 1 << 1,   /* which namespaces mount them (or pins) */
} TaskWalkAsk;

/* One walk: every task, and about devs (at most 64) what ask asks. The
 * mount walk (bpf/mount-walk.bpf.c) needs Linux 5.17; where it cannot
 * load, or it saw the kernel's lists change under it, mounts_known is
 * false and every namespace's table must be read. */
int task_walk_run(TaskWalk *w, const dev_t *devs, size_t n_devs, TaskWalkAsk ask, TaskWalkResult *ret);
bool task_walk_result_holding(const TaskWalkResult *r, pid_t tgid);
/* Whether the mount walk showed namespace mntns to have none of the
 * mounts a scan reads its table for. */
bool task_walk_result_mounts_nothing(const TaskWalkResult *r, uint64_t mntns);
void task_walk_result_done(TaskWalkResult *r);
