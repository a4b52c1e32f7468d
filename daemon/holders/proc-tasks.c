/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/array.h"
#include "basic/macro.h"
#include "holders/proc-tasks.h"
#include "holders/proc-util.h"

void proc_tasks_done(ProcTasks *t) {
        for (size_t i = 0; i < t->n_tasks; i++)
                proc_files_done(&t->tasks[i].files);
        free(t->tasks);
        *t = (ProcTasks) {};
}

static int scan_task(int proc_fd, pid_t pid, pid_t tid, uint64_t mntns, dev_t dev, dev_t nsfs_dev,
                     ProcFiles *process_files, ProcTasks *t) {
        _cleanup_(proc_files_done) ProcFiles own = {};
        ProcTask task = { .tid = tid };
        int r;

        /* /proc/TID answers for any thread, listed or not, so the readers
         * that take a PID take the TID as it is. */
        if (proc_read_mntns(proc_fd, tid, &task.mntns) < 0)
                return 0; /* exited meanwhile */
        if (process_files) {
                r = proc_files_scan_thread(proc_fd, pid, tid, dev, nsfs_dev, &own);
                if (r < 0)
                        return r;
        }
        if (task.mntns == mntns)
                return process_files ? proc_files_move(process_files, &own) : 0;
        task.files = own;
        r = array_append((void **) &t->tasks, &t->n_tasks, sizeof(ProcTask), &task);
        if (r >= 0)
                own = (ProcFiles) {}; /* t owns them now */
        return r;
}

typedef struct TaskWalk {
        int proc_fd;
        pid_t pid;
        uint64_t mntns;
        dev_t dev;
        dev_t nsfs_dev;
        ProcFiles *process_files;
        ProcTasks tasks;
} TaskWalk;

static int scan_task_cb(pid_t tid, void *userdata) {
        TaskWalk *w = userdata;

        if (tid == w->pid)
                return 0;
        return scan_task(w->proc_fd, w->pid, tid, w->mntns, w->dev, w->nsfs_dev, w->process_files, &w->tasks);
}

int proc_tasks_scan(int proc_fd, pid_t pid, uint64_t mntns, dev_t dev, dev_t nsfs_dev, ProcFiles *process_files,
                    ProcTasks *ret) {
        TaskWalk w = { proc_fd, pid, mntns, dev, nsfs_dev, process_files, {} };
        char path[32];
        int r;

        (void) snprintf(path, sizeof(path), "%d/task", (int) pid);
        r = proc_for_each_pid(proc_fd, path, scan_task_cb, &w);
        if (r < 0) {
                proc_tasks_done(&w.tasks);
                return r;
        }
        *ret = w.tasks;
        return 0;
}

typedef struct LiveTask {
        int proc_fd;
        pid_t pid;
        pid_t tid;
        uint64_t mntns;
} LiveTask;

static int find_live_cb(pid_t tid, void *userdata) {
        LiveTask *l = userdata;

        if (tid == l->pid || proc_read_mntns(l->proc_fd, tid, &l->mntns) < 0)
                return 0;
        l->tid = tid;
        return 1; /* found: stop */
}

int proc_tasks_find_live(int proc_fd, pid_t pid, pid_t *ret_tid, uint64_t *ret_mntns) {
        LiveTask l = { .proc_fd = proc_fd, .pid = pid };
        char path[32];
        int r;

        (void) snprintf(path, sizeof(path), "%d/task", (int) pid);
        r = proc_for_each_pid(proc_fd, path, find_live_cb, &l);
        if (r < 0)
                return r;
        if (l.tid == 0)
                return -ENOENT;
        *ret_tid = l.tid;
        *ret_mntns = l.mntns;
        return 0;
}
