/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "holders/holder-scan-bounded.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct ScanLimit {
        atomic_uint refs;
        atomic_uint stalled;
        unsigned max_stalled;
};

/* One scan, shared by its caller and its thread; whoever lets go last
 * frees it. */
typedef struct ScanJob {
        pthread_mutex_t lock;
        pthread_cond_t finished;
        unsigned refs;           /* under lock */
        bool done;               /* under lock */
        bool abandoned;          /* under lock */
        HolderScanOptions options;
        char *proc_root;
        char *sys_root;
        unsigned open_count;
        int result;              /* under lock, once done */
        HolderScan *scan;        /* under lock, once done */
        ScanLimit *limit;        /* a reference */
} ScanJob;

int scan_limit_new(unsigned max_stalled, ScanLimit **ret) {
        ScanLimit *l;

        if (max_stalled == 0)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        atomic_init(&l->refs, 1);
        atomic_init(&l->stalled, 0);
        l->max_stalled = max_stalled;
        *ret = l;
        return 0;
}

ScanLimit *scan_limit_ref(ScanLimit *l) {
        atomic_fetch_add(&l->refs, 1);
        return l;
}

ScanLimit *scan_limit_unref(ScanLimit *l) {
        if (l && atomic_fetch_sub(&l->refs, 1) == 1)
                free(l);
        return NULL;
}

unsigned scan_limit_stalled(ScanLimit *l) {
        return atomic_load(&l->stalled);
}

bool scan_limit_full(ScanLimit *l) {
        return scan_limit_stalled(l) >= l->max_stalled;
}

void scan_limit_stall(ScanLimit *l) {
        atomic_fetch_add(&l->stalled, 1);
}

void scan_limit_unstall(ScanLimit *l) {
        atomic_fetch_sub(&l->stalled, 1);
}

static void scan_job_release(ScanJob *j) {
        bool last;

        pthread_mutex_lock(&j->lock);
        last = --j->refs == 0;
        pthread_mutex_unlock(&j->lock);
        if (!last)
                return;
        holder_scan_free(j->scan);
        free(j->proc_root);
        free(j->sys_root);
        scan_limit_unref(j->limit);
        stall_guard_unref(j->options.stall_guard);
        task_walk_unref(j->options.task_walk);
        pthread_cond_destroy(&j->finished);
        pthread_mutex_destroy(&j->lock);
        free(j);
}

static void *scan_thread(void *userdata) {
        ScanJob *j = userdata;
        HolderScan *scan = NULL;
        int r;

        r = holder_scan_for_open_count(&j->options, j->open_count, &scan);

        pthread_mutex_lock(&j->lock);
        j->result = r;
        j->scan = r >= 0 ? scan : NULL;
        j->done = true;
        if (j->abandoned)
                atomic_fetch_sub(&j->limit->stalled, 1);
        pthread_cond_signal(&j->finished);
        pthread_mutex_unlock(&j->lock);
        scan_job_release(j);
        return NULL;
}

static int scan_job_new(const HolderScanOptions *o, unsigned open_count, ScanLimit *limit, ScanJob **ret) {
        pthread_condattr_t attr;
        ScanJob *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->options = *o;
        j->open_count = open_count;
        if ((o->proc_root && !(j->proc_root = strdup(o->proc_root))) ||
            (o->sys_root && !(j->sys_root = strdup(o->sys_root)))) {
                free(j->proc_root);
                free(j);
                return -ENOMEM;
        }
        j->options.proc_root = j->proc_root;
        j->options.sys_root = j->sys_root;

        r = pthread_condattr_init(&attr);
        if (r == 0) {
                r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                if (r == 0)
                        r = pthread_cond_init(&j->finished, &attr);
                pthread_condattr_destroy(&attr);
        }
        if (r != 0) {
                free(j->proc_root);
                free(j->sys_root);
                free(j);
                return -r;
        }
        pthread_mutex_init(&j->lock, NULL);
        j->refs = 1;
        j->limit = scan_limit_ref(limit);
        /* An abandoned thread leaves its steps when it comes back, and
         * keeps the task walk it may still use. */
        j->options.stall_guard = stall_guard_ref(o->stall_guard);
        j->options.task_walk = task_walk_ref(o->task_walk);
        *ret = j;
        return 0;
}

/* A thread with every signal blocked, so signals stay the event loop's.
 * One that finishes in time is joined, so it is gone (its malloc cache
 * given back, its stack reused by the next) before the caller goes on;
 * an abandoned one is detached, since it may never end. */
static int start_thread(ScanJob *j, pthread_t *ret) {
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        j->refs++;  /* the thread's; nobody else sees j yet */
        r = pthread_create(ret, NULL, scan_thread, j);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                j->refs--;
                return r == EAGAIN ? -EAGAIN : -r;
        }
        return 0;
}

static struct timespec deadline_after(usec_t timeout) {
        usec_t at = now_usec(CLOCK_MONOTONIC) + timeout;

        return (struct timespec) { .tv_sec = (time_t) (at / USEC_PER_SEC),
                                   .tv_nsec = (long) (at % USEC_PER_SEC) * 1000 };
}

int holder_scan_bounded(const HolderScanOptions *o, unsigned open_count, usec_t timeout, ScanLimit *limit,
                        HolderScan **ret) {
        ScanJob *j = NULL;
        struct timespec deadline;
        pthread_t thread;
        int r;

        if (scan_limit_full(limit))
                return -EBUSY;
        r = scan_job_new(o, open_count, limit, &j);
        if (r < 0)
                return r;
        r = start_thread(j, &thread);
        if (r < 0) {
                scan_job_release(j);
                return r;
        }

        if (timeout != USEC_INFINITY)
                deadline = deadline_after(timeout);
        pthread_mutex_lock(&j->lock);
        while (!j->done)
                if (timeout == USEC_INFINITY)
                        pthread_cond_wait(&j->finished, &j->lock);
                else if (pthread_cond_timedwait(&j->finished, &j->lock, &deadline) == ETIMEDOUT)
                        break;
        if (j->done) {
                r = j->result;
                if (r >= 0)
                        *ret = TAKE_PTR(j->scan);
        } else {
                j->abandoned = true;
                atomic_fetch_add(&limit->stalled, 1);
                r = -ETIMEDOUT;
        }
        pthread_mutex_unlock(&j->lock);
        if (r == -ETIMEDOUT)
                (void) pthread_detach(thread);
        else
                (void) pthread_join(thread, NULL);
        scan_job_release(j);
        return r;
}
