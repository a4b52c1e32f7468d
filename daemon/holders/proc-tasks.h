/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The threads of a process that differ from it where a holder scan looks: a
 * mount namespace of their own (a thread may unshare(CLONE_NEWNS) alone, or
 * setns() elsewhere), or a cwd or root of their own. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/proc-files.h"

typedef struct ProcTask {
        pid_t tid;
        uint64_t mntns;
        ProcFiles files;         /* what it holds of its own */
} ProcTask;

typedef struct ProcTasks {
        ProcTask *tasks;         /* threads in another namespace than the process */
        size_t n_tasks;
} ProcTasks;

/* Walks /proc/pid/task (pid's own thread aside). With process_files set,
 * threads in the process's namespace (mntns) add what they hold of their
 * own (proc_files_scan_thread()) to it; threads in another namespace come
 * back in *ret, with theirs. Threads that exit meanwhile or cannot be read
 * are skipped: the process itself was readable, so it is counted. -ENOMEM,
 * or the error opening the task directory. */
int proc_tasks_scan(int proc_fd, pid_t pid, uint64_t mntns, dev_t dev, dev_t nsfs_dev, ProcFiles *process_files,
                    ProcTasks *ret);

/* A live thread of pid other than its main thread, and its namespace: how
 * a process whose main thread has exited is still seen. -ENOENT if none. */
int proc_tasks_find_live(int proc_fd, pid_t pid, pid_t *ret_tid, uint64_t *ret_mntns);

void proc_tasks_done(ProcTasks *t);
