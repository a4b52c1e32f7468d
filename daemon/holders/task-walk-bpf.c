/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The task walk through BPF iterators: loads the light skeleton bpftool
 * generates from bpf/task-walk.bpf.c, and reads the records its iterators
 * write; with the mount walk (mount-walk-bpf.c) where that loads.
 *
 * A light skeleton, not libbpf's loader: libbpf would parse the running
 * kernel's whole BTF in user space to apply the CO-RE relocations (55-65 ms
 * and 11 MB of memory for the 126,000 types of a 6.18 kernel, on every
 * dmwardenctl run); the light skeleton's loader program has the kernel
 * apply them against its own BTF, and needs nothing of libbpf at run time
 * but its headers. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "holders/bpf-iterator.h"
#include "holders/bpf/task-walk-record.h"
#include "holders/mount-walk-bpf.h"
#include "holders/task-walk.h"
/* Generated code, with bpftool's habits (arithmetic on void *). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpointer-arith"
#include "holders/task-walk.lskel.h"
#pragma GCC diagnostic pop

_Static_assert(TASK_WALK_MAX_DEVS == TASK_WALK_MAX_DEVICES, "the BPF maps' size is the API's");

/* The inode of the initial PID namespace (include/linux/proc_ns.h). */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

struct TaskWalk {
        atomic_uint n_ref;
        struct task_walk *skel;
        struct mount_walk *mounts;          /* NULL: cannot load here */
        pthread_mutex_t lock;
        __u32 wanted[TASK_WALK_MAX_DEVS];   /* in the map now */
        size_t n_wanted;
};

static int set_reason(char **ret_reason, int r, const char *what) {
        char *s = NULL;

        if (ret_reason && asprintf(&s, "%s%s%s", what, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "") >= 0)
                *ret_reason = s;
        return r;
}

/* The iterators name PIDs as the namespace of whoever reads them sees
 * them; /proc (where the rest of a scan reads) as its mounter does. Only
 * in the initial namespace are both the kernel's own numbers. */
static bool in_initial_pid_namespace(void) {
        struct stat st;

        return stat("/proc/self/ns/pid", &st) >= 0 && st.st_ino == PROC_PID_INIT_INO;
}

int task_walk_open(TaskWalk **ret, char **ret_reason) {
        _cleanup_free_ TaskWalk *w = NULL;
        int r;

        *ret = NULL;
        if (ret_reason)
                *ret_reason = NULL;
        if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
                return set_reason(ret_reason, -EOPNOTSUPP, "the kernel has no BTF (/sys/kernel/btf/vmlinux)");
        if (!in_initial_pid_namespace())
                return set_reason(ret_reason, -EOPNOTSUPP, "not in the initial PID namespace");
        w = calloc(1, sizeof(TaskWalk));
        if (!w)
                return -ENOMEM;
        w->skel = task_walk__open();
        if (!w->skel)
                return -ENOMEM;
        r = task_walk__load(w->skel);
        if (r == -EPERM || r == -EACCES)
                return set_reason(ret_reason, r,
                                  "not allowed to load BPF programs (CAP_BPF and CAP_PERFMON, or lockdown)");
        if (r >= 0)
                r = task_walk__attach(w->skel);
        if (r < 0) {
                task_walk__destroy(w->skel);
                return set_reason(ret_reason, r, "cannot load the BPF task iterators (kernel 5.12 or later)");
        }
        w->mounts = mount_walk_bpf_open();
        pthread_mutex_init(&w->lock, NULL);
        atomic_init(&w->n_ref, 1);
        *ret = TAKE_PTR(w);
        return 0;
}

bool task_walk_walks_mounts(const TaskWalk *w) {
        return w && w->mounts;
}

TaskWalk *task_walk_ref(TaskWalk *w) {
        if (w)
                atomic_fetch_add(&w->n_ref, 1);
        return w;
}

TaskWalk *task_walk_unref(TaskWalk *w) {
        if (!w || atomic_fetch_sub(&w->n_ref, 1) > 1)
                return NULL;
        task_walk__destroy(w->skel);
        mount_walk_bpf_destroy(w->mounts);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}

static __u32 kernel_dev(dev_t d) {
        return (__u32) (major(d) << 20 | minor(d));
}

/* The devices asked about, in the map of each program. */
static int set_wanted(TaskWalk *w, const dev_t *devs, size_t n) {
        int map_fds[2] = { w->skel->maps.wanted_devs.map_fd, w->mounts ? mount_walk_bpf_wanted_fd(w->mounts) : -EBADF };
        __u8 one = 1;

        if (n > TASK_WALK_MAX_DEVS)
                return -E2BIG;
        for (size_t m = 0; m < ELEMENTSOF(map_fds); m++)
                for (size_t i = 0; map_fds[m] >= 0 && i < w->n_wanted; i++)
                        (void) skel_map_delete_elem(map_fds[m], &w->wanted[i]);
        w->n_wanted = 0;
        for (size_t i = 0; i < n; i++) {
                __u32 k = kernel_dev(devs[i]);

                for (size_t m = 0; m < ELEMENTSOF(map_fds); m++)
                        if (map_fds[m] >= 0 && skel_map_update_elem(map_fds[m], &k, &one, BPF_ANY) < 0)
                                return negative_errno();
                w->wanted[w->n_wanted++] = k;
        }
        return 0;
}

static int cmp_task(const void *a, const void *b) {
        const TaskWalkTask *x = a, *y = b;

        if (x->tgid != y->tgid)
                return (x->tgid > y->tgid) - (x->tgid < y->tgid);
        return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

static int add_holding(TaskWalkResult *res, size_t *allocated, pid_t tgid) {
        if (res->n_holding == *allocated) {
                size_t m = *allocated ? *allocated * 2 : 64;
                pid_t *p = reallocarray(res->holding, m, sizeof(pid_t));

                if (!p)
                        return -ENOMEM;
                res->holding = p;
                *allocated = m;
        }
        res->holding[res->n_holding++] = tgid;
        return 0;
}

static int collect_hits(int link, TaskWalkResult *res, size_t *allocated) {
        _cleanup_free_ struct task_walk_hit *hits = NULL;
        size_t n = 0;
        int r;

        r = bpf_iterator_read(link, sizeof(struct task_walk_hit), (void **) &hits, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (i == 0 || hits[i].tgid != hits[i - 1].tgid)
                        r = add_holding(res, allocated, (pid_t) hits[i].tgid);
        return r;
}

static int walk(TaskWalk *w, TaskWalkAsk ask, TaskWalkResult *ret) {
        bool holders = ask & TASK_WALK_ASK_HOLDERS;
        _cleanup_(task_walk_result_done) TaskWalkResult res = {};
        _cleanup_free_ struct task_walk_task *raw = NULL;
        usec_t t[5] = { now_usec(CLOCK_MONOTONIC) };  /* start, tasks, mounts, files, mappings */
        size_t n = 0, allocated = 0, u = 0;
        int r;

        r = bpf_iterator_read(w->skel->links.walk_tasks_fd, sizeof(struct task_walk_task), (void **) &raw, &n);
        if (r < 0)
                return r;
        res.tasks = calloc(n ?: 1, sizeof(TaskWalkTask));
        if (!res.tasks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                res.tasks[i] = (TaskWalkTask) {
                        .tid = (pid_t) raw[i].tid,
                        .tgid = (pid_t) raw[i].tgid,
                        .mntns = raw[i].flags & TASK_WALK_NO_NS ? 0 : raw[i].mntns,
                        .kthread = raw[i].flags & TASK_WALK_KTHREAD,
                };
                if (holders && (raw[i].flags & (TASK_WALK_HIT_CWD | TASK_WALK_HIT_ROOT | TASK_WALK_HIT_EXE))) {
                        r = add_holding(&res, &allocated, res.tasks[i].tgid);
                        if (r < 0)
                                return r;
                }
        }
        res.n_tasks = n;
        qsort(res.tasks, res.n_tasks, sizeof(TaskWalkTask), cmp_task);
        t[1] = now_usec(CLOCK_MONOTONIC);
        /* First, as it may spare the mapping walk. */
        if (w->mounts && (ask & (TASK_WALK_ASK_MOUNTS | TASK_WALK_ASK_HOLDERS))) {
                r = mount_walk_bpf_collect(w->mounts, &res);
                if (r < 0)
                        return r;
        }
        t[2] = t[3] = t[4] = now_usec(CLOCK_MONOTONIC);
        if (holders) {
                r = collect_hits(w->skel->links.walk_files_fd, &res, &allocated);
                t[3] = t[4] = now_usec(CLOCK_MONOTONIC);
                if (r >= 0 && !res.unmapped) {
                        r = collect_hits(w->skel->links.walk_maps_fd, &res, &allocated);
                        t[4] = now_usec(CLOCK_MONOTONIC);
                }
                if (r < 0)
                        return r;
        }
        log_debug("BPF walk: %zu tasks in %.1f ms, mounts and inodes in %.1f ms, files in %.1f ms, "
                  "mappings in %.1f ms%s.", n, (t[1] - t[0]) / 1e3, (t[2] - t[1]) / 1e3, (t[3] - t[2]) / 1e3,
                  (t[4] - t[3]) / 1e3, res.unmapped ? " (none: no file of the devices is mapped)" : "");
        if (res.n_holding > 0) {
                qsort(res.holding, res.n_holding, sizeof(pid_t), cmp_pid);
                for (size_t i = 0; i < res.n_holding; i++)
                        if (u == 0 || res.holding[i] != res.holding[u - 1])
                                res.holding[u++] = res.holding[i];
                res.n_holding = u;
        }
        *ret = res;
        res = (TaskWalkResult) {};
        return 0;
}

int task_walk_run(TaskWalk *w, const dev_t *devs, size_t n_devs, TaskWalkAsk ask, TaskWalkResult *ret) {
        int r;

        /* A walk still under way is one a scan gave up on (a mapping's
         * lock it waits for): do not queue behind it. */
        if (pthread_mutex_trylock(&w->lock) != 0)
                return -EBUSY;
        r = set_wanted(w, devs, n_devs);
        if (r >= 0)
                r = walk(w, ask, ret);
        pthread_mutex_unlock(&w->lock);
        return r;
}
