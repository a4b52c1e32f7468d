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
} TaskWalkResult;

/* One walk. With devs (n_devs at most 64), also which processes may hold
 * them; without, tasks only. */
int task_walk_run(TaskWalk *w, const dev_t *devs, size_t n_devs, TaskWalkResult *ret);
bool task_walk_result_holding(const TaskWalkResult *r, pid_t tgid);
void task_walk_result_done(TaskWalkResult *r);
