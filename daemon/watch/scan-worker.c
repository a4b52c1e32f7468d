/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "holders/stall-guard.h"
#include "watch/scan-worker.h"

/* What the thread and the loop share; whoever lets go last frees it. The
 * eventfd lives here, not in the batch, so a thread abandoned by the loop
 * still has something to write to. */
typedef struct ScanShared {
        pthread_mutex_t lock;
        unsigned refs;           /* under lock */
        int event_fd;
        ScanRequest *requests;   /* the thread's own copies */
        size_t n;
        int *results;            /* under lock, [0, n_done) */
        HolderScan **scans;      /* under lock, [0, n_done); taken by the loop */
        size_t n_done;           /* under lock */
        unsigned n_walks;        /* under lock: passes over /proc so far */
        bool finished;           /* under lock: no thread, or it is past its last scan */
        bool abandoned;          /* under lock */
        ScanLimit *limit;        /* a reference */
} ScanShared;

struct ScanBatch {
        ScanShared *shared;
        pthread_t thread;
        bool started;
        sd_event_source *io;
        sd_event_source *deadline;
        usec_t timeout;
        size_t n_taken;          /* results handed to ops->result */
        const ScanBatchOps *ops;
        void *userdata;
};

static void requests_free(ScanRequest *r, size_t n) {
        for (size_t i = 0; r && i < n; i++) {
                free((char *) r[i].options.proc_root);
                free((char *) r[i].options.sys_root);
                stall_guard_unref(r[i].options.stall_guard);
                task_walk_unref(r[i].options.task_walk);
        }
        free(r);
}

static void shared_release(ScanShared *s) {
        bool last;

        pthread_mutex_lock(&s->lock);
        last = --s->refs == 0;
        pthread_mutex_unlock(&s->lock);
        if (!last)
                return;
        for (size_t i = 0; s->scans && i < s->n; i++)
                holder_scan_free(s->scans[i]);
        free(s->scans);
        free(s->results);
        requests_free(s->requests, s->n);
        safe_close(s->event_fd);
        scan_limit_unref(s->limit);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static int copy_requests(const ScanRequest *from, size_t n, ScanRequest **ret) {
        ScanRequest *r = calloc(n, sizeof(ScanRequest));

        if (!r)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const HolderScanOptions *o = &from[i].options;

                r[i] = from[i];
                r[i].options.proc_root = o->proc_root ? strdup(o->proc_root) : NULL;
                r[i].options.sys_root = o->sys_root ? strdup(o->sys_root) : NULL;
                r[i].options.stall_guard = o->stall_guard ? stall_guard_ref(o->stall_guard) : NULL;
                r[i].options.task_walk = task_walk_ref(o->task_walk);
                if ((o->proc_root && !r[i].options.proc_root) || (o->sys_root && !r[i].options.sys_root)) {
                        requests_free(r, i + 1);
                        return -ENOMEM;
                }
        }
        *ret = r;
        return 0;
}

static int shared_new(const ScanRequest *requests, size_t n, ScanLimit *limit, ScanShared **ret) {
        ScanShared *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->n = n;
        s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        s->results = calloc(n, sizeof(int));
        s->scans = calloc(n, sizeof(HolderScan *));
        if (s->event_fd < 0 || !s->results || !s->scans || copy_requests(requests, n, &s->requests) < 0) {
                int r = s->event_fd < 0 ? -errno : -ENOMEM;

                safe_close(s->event_fd);
                free(s->results);
                free(s->scans);
                free(s);
                return r;
        }
        pthread_mutex_init(&s->lock, NULL);
        s->refs = 1;
        s->finished = true;  /* until a thread runs */
        s->limit = scan_limit_ref(limit);
        *ret = s;
        return 0;
}

static void wake_loop(ScanShared *s) {
        uint64_t one = 1;

        /* Only fails when the counter is about to overflow: it is woken. */
        (void) write(s->event_fd, &one, sizeof(one));
}

/* The thread is done with the batch; under lock. An abandoned one is
 * counted out of the limit. */
static void finish(ScanShared *s) {
        if (s->finished)
                return;
        s->finished = true;
        if (s->abandoned)
                scan_limit_unstall(s->limit);
}

/* Hands scan i over to the loop; false once the loop gave up on the
 * batch, when the thread has nothing more to do. The last one finishes the
 * thread's part in the same step, so a loop that has every result knows
 * the thread will not block again. */
static bool hand_over(ScanShared *s, size_t i, int r, HolderScan *scan, unsigned walks) {
        bool go_on;

        pthread_mutex_lock(&s->lock);
        s->results[i] = r;
        s->scans[i] = r >= 0 ? scan : NULL;
        s->n_done++;
        s->n_walks += walks;
        go_on = !s->abandoned;
        if (s->n_done == s->n)
                finish(s);
        pthread_mutex_unlock(&s->lock);
        wake_loop(s);
        return go_on;
}

/* The mounts of every device that asks for no file scan, in one walk over
 * /proc. Each whose open count they explain is done; the others (and those
 * that asked for files) are scanned with their files afterwards, one walk
 * each, since files are matched by device as they are read. Without
 * requests for mounts alone, scans[] stays empty. */
static int scan_mounts(ScanShared *s, HolderScan **scans) {
        _cleanup_free_ dev_t *devs = calloc(s->n, sizeof(dev_t));
        _cleanup_free_ HolderScan **found = calloc(s->n, sizeof(HolderScan *));
        HolderScanOptions o = {};
        size_t n = 0;
        int r;

        if (!devs || !found)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                if (!s->requests[i].options.scan_files) {
                        o = s->requests[i].options;
                        devs[n++] = o.dev;
                }
        if (n == 0)
                return 0;
        r = holder_scan_many(&o, devs, n, found);
        if (r < 0)
                return r;
        for (size_t i = 0, j = 0; i < s->n; i++)
                if (!s->requests[i].options.scan_files)
                        scans[i] = found[j++];
        return 1;
}

static void *scan_thread(void *userdata) {
        ScanShared *s = userdata;
        _cleanup_free_ HolderScan **scans = calloc(s->n, sizeof(HolderScan *));
        bool go_on = true;
        int r;

        r = scans ? scan_mounts(s, scans) : -ENOMEM;
        for (size_t i = 0; i < s->n && go_on; i++) {
                const ScanRequest *q = &s->requests[i];
                HolderScanOptions files = q->options;
                HolderScan *scan = TAKE_PTR(scans[i]);
                unsigned walks = 0;
                int k = 0;

                if (r > 0) {
                        walks++;  /* the shared walk, told with the first result */
                        r = 0;
                }
                if (r < 0 && !q->options.scan_files) {
                        go_on = hand_over(s, i, r, NULL, walks);
                        continue;
                }
                if (!scan || !holder_scan_explains_open_count(scan, q->open_count)) {
                        scan = holder_scan_free(scan);
                        files.scan_files = true;
                        k = holder_scan(&files, &scan);
                        walks++;
                }
                go_on = hand_over(s, i, k, scan, walks);
        }
        for (size_t i = 0; scans && i < s->n; i++)
                holder_scan_free(scans[i]);
        pthread_mutex_lock(&s->lock);
        finish(s);
        pthread_mutex_unlock(&s->lock);
        shared_release(s);
        return NULL;
}

/* With every signal blocked, so signals stay the event loop's. Joined
 * once it has handed over its last scan (so it is gone, its malloc cache
 * given back, before the next starts), detached if abandoned: it may
 * never end. */
static int start_thread(ScanBatch *b) {
        ScanShared *s = b->shared;
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        s->refs++;  /* the thread's; nobody else sees s yet */
        s->finished = false;
        r = pthread_create(&b->thread, NULL, scan_thread, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                s->refs--;
                s->finished = true;
                return -r;
        }
        b->started = true;
        return 0;
}

/* Abandons the thread unless it is past its last scan already; returns
 * whether it was. */
static bool abandon(ScanBatch *b) {
        ScanShared *s = b->shared;
        bool finished;

        pthread_mutex_lock(&s->lock);
        finished = s->finished;
        if (!finished && !s->abandoned) {
                s->abandoned = true;
                scan_limit_stall(s->limit);
        }
        pthread_mutex_unlock(&s->lock);
        return finished;
}

static void arm_deadline(ScanBatch *b) {
        if (b->timeout == USEC_INFINITY)
                return;
        (void) sd_event_source_set_time_relative(b->deadline, b->timeout);
        (void) sd_event_source_set_enabled(b->deadline, SD_EVENT_ONESHOT);
}

/* Hands over what the thread finished since last time; true when the batch
 * is complete (done was called, and b may be gone). */
static bool take_results(ScanBatch *b) {
        ScanShared *s = b->shared;
        size_t done;

        pthread_mutex_lock(&s->lock);
        done = s->n_done;
        pthread_mutex_unlock(&s->lock);
        if (done > b->n_taken)
                arm_deadline(b);
        for (; b->n_taken < done; b->n_taken++) {
                HolderScan *scan;

                /* Written before n_done moved past it, never again. */
                pthread_mutex_lock(&s->lock);
                scan = TAKE_PTR(s->scans[b->n_taken]);
                pthread_mutex_unlock(&s->lock);
                b->ops->result(b, b->n_taken, s->results[b->n_taken], scan, b->userdata);
        }
        if (b->n_taken < s->n)
                return false;
        (void) sd_event_source_set_enabled(b->io, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(b->deadline, SD_EVENT_OFF);
        b->ops->done(b, 0, 0, b->userdata);
        return true;
}

static int on_progress(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ScanBatch *b = ASSERT_PTR(userdata);
        uint64_t n;

        (void) source;
        (void) revents;
        (void) read(fd, &n, sizeof(n));
        (void) take_results(b);
        return 0;
}

static int on_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        ScanBatch *b = ASSERT_PTR(userdata);

        (void) source;
        (void) usec;
        /* A scan that ended just now is no stall. */
        if (take_results(b))
                return 0;
        if (sd_event_source_get_enabled(b->deadline, NULL) > 0)
                return 0;  /* progress re-armed it */
        (void) abandon(b);
        (void) sd_event_source_set_enabled(b->io, SD_EVENT_OFF);
        b->ops->done(b, -ETIMEDOUT, b->n_taken, b->userdata);
        return 0;
}

int scan_batch_start(sd_event *event, const ScanRequest *requests, size_t n, usec_t timeout, ScanLimit *limit,
                     const ScanBatchOps *ops, void *userdata, ScanBatch **ret) {
        _cleanup_(scan_batch_freep) ScanBatch *b = NULL;
        int r;

        if (n == 0)
                return -EINVAL;
        if (scan_limit_full(limit))
                return -EBUSY;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->timeout = timeout;
        b->ops = ops;
        b->userdata = userdata;
        r = shared_new(requests, n, limit, &b->shared);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &b->io, b->shared->event_fd, EPOLLIN, on_progress, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(b->io, "holder-scan-progress");
        r = sd_event_add_time_relative(event, &b->deadline, CLOCK_MONOTONIC,
                                       timeout == USEC_INFINITY ? 0 : timeout, 0, on_deadline, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(b->deadline, "holder-scan-deadline");
        if (timeout == USEC_INFINITY)
                (void) sd_event_source_set_enabled(b->deadline, SD_EVENT_OFF);
        r = start_thread(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

unsigned scan_batch_walks(ScanBatch *b) {
        unsigned n;

        pthread_mutex_lock(&b->shared->lock);
        n = b->shared->n_walks;
        pthread_mutex_unlock(&b->shared->lock);
        return n;
}

ScanBatch *scan_batch_free(ScanBatch *b) {
        if (!b)
                return NULL;
        sd_event_source_disable_unref(b->io);
        sd_event_source_disable_unref(b->deadline);
        if (b->started) {
                if (abandon(b))
                        (void) pthread_join(b->thread, NULL);
                else
                        (void) pthread_detach(b->thread);
        }
        if (b->shared)
                shared_release(b->shared);
        free(b);
        return NULL;
}
