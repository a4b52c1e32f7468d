/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keeping the set of watched devices in line with the kernel. Events only
 * queue work; one pass, run from a one-shot defer source, does it all, so
 * a burst of udev events costs one pass. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "holders/holder-scan-bounded.h"
#include "holders/mount-devices.h"
#include "holders/proc-util.h"
#include "watch/device-watch.h"
#include "watch/pool-list.h"
#include "watch/scan-worker.h"

typedef struct ScanWaiter {
        DeviceWatchScanned done;
        void *userdata;
} ScanWaiter;

/* A device handed to the scan worker: found again by name and number when
 * its scan comes back, since the watch may have dropped it meanwhile. */
typedef struct ScanTarget {
        char *name;
        dev_t dev;
        unsigned open_count;
} ScanTarget;

struct DeviceWatch {
        sd_event *event;
        const Config *config;
        DeviceSource *source;
        DeviceWatchEngine engine;
        DeviceWatchChanged changed;
        void *userdata;

        Device **devices;               /* sorted by name */
        size_t n_devices;
        PoolList pools;                 /* every thin pool, watched or not */

        bool resync_pending;            /* re-enumerate every device */
        bool engine_mounts_changed;     /* ask the kernel about every device */
        bool dm_missing_logged;
        char **pending_names;           /* re-query these */
        sd_event_source *pass_source;
        sd_event_source *reconcile_source;
        sd_event_source *ask_again_source;

        uint64_t engine_mntns;
        pid_t engine_pid;
        int mountinfo_fd;               /* the engine's; keeps its namespace
                                         * referenced, so closed as soon as the
                                         * engine is gone */
        sd_event_source *mountinfo_source;
        DevSet engine_mounts;
        DevSet host_mounts;             /* our own namespace's (the host's), read
                                         * at most once a pass */
        bool host_mounts_read;
        bool engine_is_host;            /* the engine namespace is ours */

        ScanLimit *scan_limit;          /* scans abandoned at their deadline */
        bool scan_limit_logged;
        ScanBatch *batch;               /* the scans of a pass, off the loop */
        ScanTarget *targets;            /* one per scan of batch */
        size_t n_targets;
        usec_t pass_start_usec;         /* CLOCK_MONOTONIC, of the pass that runs */
        bool pass_wanted;               /* a pass came while the batch ran */
        ScanWaiter *waiters;            /* for the next pass */
        size_t n_waiters;
        ScanWaiter *pass_waiters;       /* for the pass that runs */
        size_t n_pass_waiters;
        StallGuard *stall_guard;        /* steps abandoned scans wait in */
        bool stall_logged;
        HolderWalk walk;
        TaskWalk *task_walk;            /* borrowed; NULL: none */

        DeviceWatchStats stats;
};

static bool match_any_glob(char *const *globs, const char *s) {
        if (strv_length(globs) == 0)
                return true;
        for (char *const *g = globs; *g; g++)
                if (fnmatch(*g, s, 0) == 0)
                        return true;
        return false;
}

static bool match_any_prefix(char *const *prefixes, const char *s) {
        if (strv_length(prefixes) == 0)
                return true;
        for (char *const *p = prefixes; *p; p++)
                if (strncmp(s, *p, strlen(*p)) == 0)
                        return true;
        return false;
}

bool device_watch_matches(const Config *config, const DeviceInfo *info) {
        return (strv_length(config->targets) == 0 || strv_contains(config->targets, info->target)) &&
               match_any_glob(config->names, info->name) && match_any_prefix(config->uuid_prefixes, info->uuid) &&
               (strv_length(config->pools) == 0 || (*info->pool && match_any_glob(config->pools, info->pool)));
}

bool device_event_entered_state(DeviceEvent ev, const Device *d, DeviceState old_state) {
        return ev == DEVICE_EVENT_ADDED || d->state != old_state;
}

static void queue_pass(DeviceWatch *w) {
        if (w->pass_source)
                (void) sd_event_source_set_enabled(w->pass_source, SD_EVENT_ONESHOT);
}

/* Asks the source about name again in the next pass (NULL: about all). */
static void queue_requery(DeviceWatch *w, const char *name) {
        if (!name)
                w->resync_pending = true;
        else if (!strv_contains(w->pending_names, name) && strv_extend(&w->pending_names, name) < 0)
                w->resync_pending = true;  /* out of memory: the big hammer */
        queue_pass(w);
}

/* Binary search; *ret_index is where name is or would go. */
static Device *find_device(DeviceWatch *w, const char *name, size_t *ret_index) {
        size_t lo = 0, hi = w->n_devices;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(w->devices[mid]->info.name, name);

                if (c == 0) {
                        if (ret_index)
                                *ret_index = mid;
                        return w->devices[mid];
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (ret_index)
                *ret_index = lo;
        return NULL;
}

static void notify(DeviceWatch *w, Device *d, DeviceEvent ev, DeviceState old_state) {
        if (w->changed)
                w->changed(w, d, ev, old_state, w->userdata);
}

static int add_device(DeviceWatch *w, const DeviceInfo *info, size_t index) {
        Device **grown, *d;
        int r;

        grown = reallocarray(w->devices, w->n_devices + 1, sizeof(Device *));
        if (!grown)
                return -ENOMEM;
        w->devices = grown;
        r = device_new(info, &d);
        if (r < 0)
                return r;
        memmove(w->devices + index + 1, w->devices + index, (w->n_devices - index) * sizeof(Device *));
        w->devices[index] = d;
        w->n_devices++;
        d->scan_pending = true;
        log_debug("Watching %s (%u:%u, %s).", info->name, major(info->dev), minor(info->dev), info->target);
        notify(w, d, DEVICE_EVENT_ADDED, d->state);
        return 0;
}

/* exists: the device is still there, it only stopped matching the rules,
 * so nothing about it was released or removed. */
static void drop_device(DeviceWatch *w, size_t index, bool exists) {
        Device *d = w->devices[index];
        DeviceState old = d->state;

        if (exists) {
                log_debug("Device %s no longer matches the watch rules (target %s, pool %s).", d->info.name,
                          d->info.target, d->info.pool);
                notify(w, d, DEVICE_EVENT_UNWATCHED, old);
        } else {
                /* A leaked device the kernel removed (deferred removal at
                 * last close) was released first, even if no scan saw it in
                 * between. */
                if (device_state_is_leak(old)) {
                        (void) device_set_state(d, DEVICE_RELEASED, now_usec(CLOCK_REALTIME));
                        notify(w, d, DEVICE_EVENT_CHANGED, old);
                        old = DEVICE_RELEASED;
                }
                (void) device_set_state(d, DEVICE_REMOVED, now_usec(CLOCK_REALTIME));
                log_debug("Device %s is gone (was %s).", d->info.name, device_state_to_string(old));
                notify(w, d, DEVICE_EVENT_REMOVED, old);
        }
        memmove(w->devices + index, w->devices + index + 1, (w->n_devices - index - 1) * sizeof(Device *));
        w->n_devices--;
        device_free(d);
}

/* Whether a and b describe one device: the same number, and the same disk
 * sequence number where both are known (device-mapper gives a new device the
 * lowest free minor, often its predecessor's). */
static bool same_device(const DeviceInfo *a, const DeviceInfo *b) {
        return a->dev == b->dev && (a->diskseq == 0 || b->diskseq == 0 || a->diskseq == b->diskseq);
}

static bool info_equal(const DeviceInfo *a, const DeviceInfo *b) {
        return same_device(a, b) && a->diskseq == b->diskseq && a->open_count == b->open_count && a->deferred_remove == b->deferred_remove &&
               a->suspended == b->suspended && streq(a->uuid, b->uuid) && streq(a->target, b->target) &&
               streq(a->pool, b->pool);
}

/* An engine's forced removal swapped the table of a watched device for
 * "error": the device it failed to remove is the one to keep watching, as
 * it was (its thin volume is still in that pool). */
static bool forced_removal_of(const Device *d, DeviceInfo *info) {
        if (!d || !info || !streq(info->target, DEVICE_TARGET_ERROR) || !same_device(&d->info, info))
                return false;
        if (isempty(info->pool) && !isempty(d->info.pool)) {
                char *pool = strdup(d->info.pool);

                if (!pool)
                        return false;
                free(info->pool);
                info->pool = pool;
        }
        return true;
}

/* Takes in what the source says about one device (NULL: it is gone). */
static int apply_info(DeviceWatch *w, const char *name, DeviceInfo *info) {
        size_t index;
        Device *d = find_device(w, name, &index);
        int r;

        if (!info)
                pool_list_drop(&w->pools, name);
        else {
                r = pool_list_update(&w->pools, info);
                if (r < 0)
                        return r;
        }

        if (!info || (!device_watch_matches(w->config, info) && !forced_removal_of(d, info))) {
                if (d) {
                        /* What it is now, for whoever is told. */
                        if (info) {
                                device_info_done(&d->info);
                                d->info = *info;
                                *info = (DeviceInfo) {};
                        }
                        drop_device(w, index, info != NULL);
                }
                return 0;
        }
        if (d && !same_device(&d->info, info)) {
                /* Removed and made again between two looks: its state,
                 * holders and alerts were its predecessor's. */
                log_debug("%s is a new device (%u:%u, disk %" PRIu64 ") where %u:%u (disk %" PRIu64 ") was.",
                          name, major(info->dev), minor(info->dev), info->diskseq, major(d->info.dev),
                          minor(d->info.dev), d->info.diskseq);
                drop_device(w, index, false);
                d = NULL;
        }
        if (!d)
                return add_device(w, info, index);

        d->scan_pending = true;
        if (info_equal(&d->info, info)) {
                /* Space changes with every write: kept, but no change of
                 * the device, which would tell the bus each time. */
                d->info.mapped_bytes = info->mapped_bytes;
                return 0;
        }
        device_info_done(&d->info);
        d->info = *info;
        *info = (DeviceInfo) {};
        notify(w, d, DEVICE_EVENT_CHANGED, d->state);
        return 0;
}

static int compare_info_names(const void *a, const void *b) {
        return strcmp(((const DeviceInfo *) a)->name, ((const DeviceInfo *) b)->name);
}

static int resync(DeviceWatch *w) {
        DeviceInfo *infos = NULL;
        size_t n = 0;
        int r;

        r = w->source->ops->enumerate(w->source, &infos, &n);
        if (r == -ENODEV && w->n_devices > 0)
                /* Known devices came from device-mapper, so it is there: a
                 * list that failed says nothing about them. Dropping them
                 * would report every leak released and removed. */
                return log_error_errno(r, "Cannot list the devices, keeping the %zu known: %m", w->n_devices);
        if (r == -ENODEV) {
                if (!w->dm_missing_logged)
                        log_warning("device-mapper is not available in this kernel; no devices to watch until it is.");
                w->dm_missing_logged = true;
                infos = NULL;
                n = 0;
        } else if (r < 0)
                return log_error_errno(r, "Cannot list the devices, keeping what is known: %m");

        pool_list_done(&w->pools);
        /* No devices may come as NULL, which qsort() and bsearch() must not see. */
        if (n > 0)
                qsort(infos, n, sizeof(DeviceInfo), compare_info_names);
        /* Gone: known here, absent there. */
        for (size_t i = w->n_devices; i > 0; i--)
                if (n == 0 || !bsearch(&(DeviceInfo) { .name = w->devices[i - 1]->info.name }, infos, n,
                                       sizeof(DeviceInfo), compare_info_names))
                        drop_device(w, i - 1, false);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = apply_info(w, infos[i].name, &infos[i]);
        device_infos_free(infos, n);
        for (size_t i = 0; i < w->n_devices; i++)
                w->devices[i]->scan_pending = true;
        return r < 0 ? r : 0;
}

static int requery(DeviceWatch *w, const char *name) {
        _cleanup_(device_info_done) DeviceInfo info = {};
        int r;

        r = w->source->ops->query(w->source, name, &info);
        if (r == -ENODEV)
                return apply_info(w, name, NULL);
        if (r < 0)
                return log_warning_errno(r, "Cannot ask about device %s: %m", name);
        return apply_info(w, name, &info);
}

static int read_engine_mounts(DeviceWatch *w) {
        _cleanup_free_ char *buf = NULL;
        int r;

        dev_set_done(&w->engine_mounts);
        if (w->mountinfo_fd < 0)
                return 0;
        if (lseek(w->mountinfo_fd, 0, SEEK_SET) < 0)
                return log_warning_errno(-errno, "Cannot rewind the engine's mount table: %m");
        r = read_full_fd(w->mountinfo_fd, 64 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return log_warning_errno(r, "Cannot read the engine's mount table: %m");
        return mountinfo_parse_devices(buf, &w->engine_mounts);
}

/* The host's mount table, and whether the engine shares it. dmwardend
 * runs in the host's namespace (its unit keeps the host's mount view), so
 * that is its own. */
static int read_host_mounts(DeviceWatch *w) {
        _cleanup_free_ char *buf = NULL;
        uint64_t host_mntns;
        int r;

        r = proc_read_mntns(AT_FDCWD, 0, &host_mntns);
        if (r < 0)
                return r;
        w->engine_is_host = host_mntns == w->engine_mntns;
        r = read_full_at(AT_FDCWD, "/proc/self/mountinfo", 64 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        return mountinfo_parse_devices(buf, &w->host_mounts);
}

/* Whether the host mounts dev too. A mount the engine namespace has from
 * the host (Propagation=slave, or an engine in the host's namespace) makes
 * the device the host's, not the engine's, and what the engine unmounts
 * then is not the engine letting it go. In doubt, the host's. */
static bool host_mounts_device(DeviceWatch *w, dev_t dev) {
        if (!w->host_mounts_read) {
                w->host_mounts_read = true;
                if (read_host_mounts(w) < 0) {
                        log_debug("The host's mount table is unreadable; no device counts as the engine's own.");
                        w->engine_is_host = true;
                }
        }
        return w->engine_is_host || dev_set_contains(&w->host_mounts, dev);
}

/* Since when the filesystem of d, which the engine once mounted, has been
 * held outside the engine (the settle rule's clock); 0 when it is not. */
static void track_held_outside(Device *d, const DeviceUse *use, const HolderRecords *others, usec_t now) {
        bool fs_held = false;

        for (size_t i = 0; i < others->n_rows && !fs_held; i++)
                fs_held = holder_record_uses_filesystem(&others->rows[i]);
        if (!d->engine_owned || use->engine_holds || !fs_held)
                d->held_outside_since_usec = 0;
        else if (d->held_outside_since_usec == 0)
                d->held_outside_since_usec = now;
}

static int on_holder_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DeviceWatch *w = ASSERT_PTR(userdata);

        (void) fd;
        (void) revents;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        for (size_t i = 0; i < w->n_devices; i++)
                for (size_t j = 0; j < w->devices[i]->n_exit_watches; j++)
                        if (w->devices[i]->exit_watches[j] == s)
                                w->devices[i]->scan_pending = true;
        queue_pass(w);
        return 0;
}

static bool engine_mount_changed(DeviceWatch *w, const Device *d) {
        return d->engine_mounted != dev_set_contains(&w->engine_mounts, d->info.dev);
}

/* Scans are abandoned at ScanTimeoutSec=, and none is started while
 * MAX_STALLED_SCANS are stuck. */
#define MAX_STALLED_SCANS 4
/* A step of a scan (one process's files, one loop device's status) takes
 * microseconds; one under way this long waits on something that does not
 * answer, and the next scans go round it. */
#define STALLED_STEP_USEC USEC_PER_SEC

static usec_t scan_timeout(const DeviceWatch *w) {
        return w->config->scan_timeout_usec ?: USEC_INFINITY;
}

/* Takes d off the queue and says whether its holders need a scan: not for
 * the engine's own device, nor for one nobody has open. */
static bool scan_prepare(DeviceWatch *w, Device *d) {
        d->scan_pending = false;
        d->engine_mounted = dev_set_contains(&w->engine_mounts, d->info.dev);
        if (d->engine_mounted && !d->engine_owned)
                d->engine_owned = !host_mounts_device(w, d->info.dev);
        return !d->engine_mounted && d->info.open_count != 0;
}

/* Who holds d, and what that makes of its life cycle: scan is what the
 * worker found (NULL: no scan was needed), open_count what it was asked
 * to explain. */
static int scan_apply(DeviceWatch *w, Device *d, const HolderScan *scan, unsigned open_count) {
        _cleanup_(holder_records_done) HolderRecords engine = {}, others = {};
        DeviceUse use = { .engine_holds = d->engine_mounted };
        DeviceLetGo let_go;
        DeviceState old = d->state, next;
        bool holders_changed;
        int r;

        if (scan) {
                r = holder_records_from_scan(scan, w->engine_mntns, &engine, &others);
                if (r < 0)
                        return r;
                use.engine_holds = engine.n_rows > 0;
                if (!use.engine_holds && others.n_rows == 0 && open_count != OPEN_COUNT_UNKNOWN) {
                        r = holder_records_add_unexplained(&others, open_count, scan->n_processes_inaccessible);
                        if (r < 0)
                                return r;
                }
                use.others_hold = others.n_rows > 0;
        }
        d->last_scan_usec = now_usec(CLOCK_REALTIME);
        track_held_outside(d, &use, &others, now_usec(CLOCK_MONOTONIC));
        let_go = device_let_go(&d->info, d->held_outside_since_usec, now_usec(CLOCK_MONOTONIC),
                               w->config->settle_usec);
        use.engine_let_go = let_go != DEVICE_LET_GO_NONE;
        if (use.engine_holds)
                d->let_go = DEVICE_LET_GO_NONE;
        else if (use.engine_let_go)
                d->let_go = let_go;

        if (use.engine_holds)
                holder_records_done(&others);  /* an engine's device has no leak holders */
        holders_changed = !holder_records_equal(&d->holders, &others);
        if (holders_changed) {
                holder_records_done(&d->holders);
                d->holders = TAKE_GENERIC(others, (HolderRecords) {});
                device_add_exit_watches(d, w->event, on_holder_exit, w);
                if (d->scan_pending)
                        queue_pass(w);  /* a holder exited before it was watched */
        }
        next = device_next_state(old, true, &use);
        if (device_set_state(d, next, d->last_scan_usec) || holders_changed)
                notify(w, d, DEVICE_EVENT_CHANGED, old);
        return 0;
}

static void targets_free(DeviceWatch *w) {
        for (size_t i = 0; i < w->n_targets; i++)
                free(w->targets[i].name);
        free(w->targets);
        w->targets = NULL;
        w->n_targets = 0;
}

static void arm_ask_again(DeviceWatch *w);

/* The pass is over: its scans came back, were abandoned, or could not
 * start (r, and why in message). Tells whoever waits for it. */
static void pass_finished(DeviceWatch *w, int r, const char *message) {
        _cleanup_free_ ScanWaiter *waiters = TAKE_PTR(w->pass_waiters);
        size_t n = TAKE_GENERIC(w->n_pass_waiters, 0);

        w->batch = scan_batch_free(w->batch);
        targets_free(w);
        w->stats.last_scan_usec = now_usec(CLOCK_REALTIME);
        w->stats.last_scan_duration_usec = now_usec(CLOCK_MONOTONIC) - w->pass_start_usec;
        w->stats.n_scans++;
        arm_ask_again(w);
        if (w->pass_wanted || w->n_waiters > 0) {
                w->pass_wanted = false;
                queue_pass(w);
        }
        /* A waiter may free what it likes, this watch excepted. */
        for (size_t i = 0; i < n; i++)
                waiters[i].done(w, r, message, waiters[i].userdata);
}

static Device *find_target(DeviceWatch *w, size_t i) {
        Device *d = i < w->n_targets ? find_device(w, w->targets[i].name, NULL) : NULL;

        return d && d->info.dev == w->targets[i].dev ? d : NULL;
}

static void on_scan_result(ScanBatch *b, size_t i, int r, HolderScan *scan, void *userdata) {
        _cleanup_(holder_scan_freep) HolderScan *owned = scan;
        DeviceWatch *w = ASSERT_PTR(userdata);
        Device *d = find_target(w, i);

        (void) b;
        if (owned)
                w->stats.walk = owned->walk;
        if (!d)
                return;  /* dropped meanwhile */
        if (r < 0) {
                log_warning_errno(r, "Cannot scan the holders of %s, keeping its state: %m", d->info.name);
                return;
        }
        log_debug("Scanned the holders of %s: %u processes, %zu namespaces holding it, %u steps skipped.",
                  d->info.name, owned->n_processes, owned->n_namespaces, owned->n_steps_skipped);
        if (owned->n_steps_skipped > 0 && !w->stall_logged)
                log_warning("The holder scan of %s went round %u processes or loop devices that an earlier scan "
                            "is still waiting on (a filesystem that does not answer); what they hold is unknown.",
                            d->info.name, owned->n_steps_skipped);
        w->stall_logged = owned->n_steps_skipped > 0;
        r = scan_apply(w, d, owned, w->targets[i].open_count);
        if (r < 0)
                log_warning_errno(r, "Cannot take in the holders of %s, keeping its state: %m", d->info.name);
}

static void on_scan_done(ScanBatch *b, int r, size_t stalled, void *userdata) {
        DeviceWatch *w = ASSERT_PTR(userdata);
        char buf[FORMAT_TIMESPAN_MAX], message[512];

        w->stats.n_proc_walks += scan_batch_walks(b);
        w->scan_limit_logged = false;
        if (r != -ETIMEDOUT) {
                pass_finished(w, r, NULL);
                return;
        }
        /* The devices after it keep their states too, until the next pass
         * asks for them. */
        (void) snprintf(message, sizeof(message),
                        "The holder scan of %s did not finish in %s (a filesystem or process it looked at did "
                        "not answer); abandoned it, keeping the state of %zu device%s (%u scans stalled).",
                        stalled < w->n_targets ? w->targets[stalled].name : "?",
                        format_timespan(buf, sizeof(buf), scan_timeout(w)), w->n_targets - stalled,
                        w->n_targets - stalled == 1 ? "" : "s", scan_limit_stalled(w->scan_limit));
        log_warning("%s", message);
        pass_finished(w, r, message);
}

static const ScanBatchOps scan_batch_ops = {
        .result = on_scan_result,
        .done = on_scan_done,
};

static int add_target(DeviceWatch *w, ScanRequest **requests, const Device *d) {
        ScanTarget *grown_t;
        ScanRequest *grown_r;
        char *name;

        grown_t = reallocarray(w->targets, w->n_targets + 1, sizeof(ScanTarget));
        if (!grown_t)
                return -ENOMEM;
        w->targets = grown_t;
        grown_r = reallocarray(*requests, w->n_targets + 1, sizeof(ScanRequest));
        if (!grown_r)
                return -ENOMEM;
        *requests = grown_r;
        name = strdup(d->info.name);
        if (!name)
                return -ENOMEM;
        w->targets[w->n_targets] = (ScanTarget) { .name = name, .dev = d->info.dev,
                                                  .open_count = d->info.open_count };
        /* Mounts alone are cheap to find; files only when the open count
         * says something else holds it too, or nobody counts. */
        (*requests)[w->n_targets++] = (ScanRequest) {
                .options = { .dev = d->info.dev, .source = MOUNT_SOURCE_AUTO,
                             .scan_files = d->info.open_count == OPEN_COUNT_UNKNOWN,
                             .stall_guard = w->stall_guard, .walk = w->walk, .task_walk = w->task_walk },
                .open_count = d->info.open_count,
        };
        return 0;
}

/* Hands the devices queued for a scan to the worker, all in one batch;
 * those that need no scan are settled here and now. */
static void start_scans(DeviceWatch *w) {
        _cleanup_free_ ScanRequest *requests = NULL;
        char message[256];
        int r = 0;

        for (size_t i = 0; i < w->n_devices; i++) {
                Device *d = w->devices[i];

                if (!d->scan_pending && !engine_mount_changed(w, d))
                        continue;
                if (r < 0 || !scan_prepare(w, d)) {
                        (void) scan_apply(w, d, NULL, 0);
                        continue;
                }
                r = add_target(w, &requests, d);
                if (r < 0)
                        d->scan_pending = true;
        }
        if (r < 0) {
                log_oom();
                pass_finished(w, r, "Out of memory.");
                return;
        }
        if (w->n_targets == 0) {
                pass_finished(w, 0, NULL);
                return;
        }
        r = scan_batch_start(w->event, requests, w->n_targets, scan_timeout(w), w->scan_limit, &scan_batch_ops,
                             w, &w->batch);
        if (r == -EBUSY) {
                (void) snprintf(message, sizeof(message),
                                "%u holder scans are stalled; starting no more until one ends (%zu device%s keep "
                                "their state).",
                                scan_limit_stalled(w->scan_limit), w->n_targets, w->n_targets == 1 ? "" : "s");
                if (!w->scan_limit_logged)
                        log_warning("%s", message);
                w->scan_limit_logged = true;
                pass_finished(w, r, message);
                return;
        }
        if (r < 0) {
                (void) snprintf(message, sizeof(message), "Cannot start the holder scans: %s", strerror(-r));
                log_warning("%s, keeping the devices' states.", message);
                pass_finished(w, r, message);
        }
}

/* The kernel sends no event when a busy device is given deferred removal,
 * so an engine letting go of a device others still hold (an unmount, then
 * the remove a moment later) is seen only by asking. A device that others
 * hold while the engine has not let go is asked about again, at 200 ms,
 * then doubling up to 30 s, for as long as that lasts. Asking is the
 * source's query (device-mapper: info and table, a few ioctls); it scans
 * the holders again only if the answer changed. */
#define ASK_FIRST_USEC (200 * USEC_PER_MSEC)
#define ASK_MAX_USEC (30 * USEC_PER_SEC)

static bool waiting_for_let_go(const Device *d) {
        return d->state == DEVICE_IDLE && d->holders.n_rows > 0 && !device_info_removal_asked(&d->info);
}

/* When the settle rule would call d let go (CLOCK_MONOTONIC), or 0: never
 * (not held, or SettleSec=infinity). The sum would wrap past infinity to
 * a moment already gone, and the ask-again timer would fire at once,
 * forever. */
static usec_t settle_due(const DeviceWatch *w, const Device *d) {
        usec_t since = d->held_outside_since_usec, settle = w->config->settle_usec;

        if (since == 0 || settle >= USEC_INFINITY - since)
                return 0;
        return since + settle;
}

static void arm_ask_again(DeviceWatch *w) {
        usec_t now = now_usec(CLOCK_MONOTONIC), next = 0;

        for (size_t i = 0; i < w->n_devices; i++) {
                Device *d = w->devices[i];

                if (!waiting_for_let_go(d)) {
                        d->ask_again_usec = d->ask_interval_usec = 0;
                        continue;
                }
                if (d->ask_again_usec == 0) {
                        d->ask_interval_usec = ASK_FIRST_USEC;
                        d->ask_again_usec = now + ASK_FIRST_USEC;
                }
                if (next == 0 || d->ask_again_usec < next)
                        next = d->ask_again_usec;
                if (settle_due(w, d) > 0 && settle_due(w, d) < next)
                        next = settle_due(w, d);
        }
        if (!w->ask_again_source)
                return;
        if (next == 0) {
                (void) sd_event_source_set_enabled(w->ask_again_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(w->ask_again_source, next);
        (void) sd_event_source_set_enabled(w->ask_again_source, SD_EVENT_ONESHOT);
}

/* Whether what the kernel says of d now differs from what we know (or it
 * is gone): a requery in the pass takes it from there. */
static bool kernel_info_changed(DeviceWatch *w, const Device *d) {
        _cleanup_(device_info_done) DeviceInfo info = {};

        return w->source->ops->query(w->source, d->info.name, &info) < 0 || !info_equal(&d->info, &info);
}

static int on_ask_again(sd_event_source *s, uint64_t usec, void *userdata) {
        DeviceWatch *w = ASSERT_PTR(userdata);

        (void) s;
        for (size_t i = 0; i < w->n_devices; i++) {
                Device *d = w->devices[i];

                if (settle_due(w, d) > 0 && settle_due(w, d) <= usec) {
                        /* Held past the settle time: a scan decides. */
                        queue_requery(w, d->info.name);
                        continue;
                }
                if (d->ask_again_usec == 0 || d->ask_again_usec > usec)
                        continue;
                d->ask_interval_usec = d->ask_interval_usec * 2 < ASK_MAX_USEC ? d->ask_interval_usec * 2 : ASK_MAX_USEC;
                d->ask_again_usec = usec + d->ask_interval_usec;
                if (kernel_info_changed(w, d))
                        queue_requery(w, d->info.name);
        }
        arm_ask_again(w);
        return 0;
}

static int run_pass(DeviceWatch *w) {
        _cleanup_strv_free_ char **names = TAKE_PTR(w->pending_names);
        bool mounts_changed = w->engine_mounts_changed;
        usec_t start = now_usec(CLOCK_MONOTONIC);

        w->engine_mounts_changed = false;

        if (read_engine_mounts(w) < 0)
                log_debug("Engine mount table unreadable; treating it as empty.");
        dev_set_done(&w->host_mounts);
        w->host_mounts_read = false;
        if (w->resync_pending) {
                w->resync_pending = false;
                (void) resync(w);
        } else
                /* Open counts and the deferred-removal flag change without
                 * an event (a mount, a holder's exit): what a scan decides
                 * on is asked of the kernel right before it. After a change
                 * in the engine's mount table every device is asked: a
                 * mount, a copy of it into another namespace and the
                 * unmount can all fall between two passes, which then see
                 * the same engine table and would miss the leak. */
                for (size_t i = 0; i < w->n_devices; i++) {
                        Device *d = w->devices[i];

                        if ((d->scan_pending || engine_mount_changed(w, d) ||
                             (mounts_changed && kernel_info_changed(w, d))) &&
                            !strv_contains(names, d->info.name) && strv_extend(&names, d->info.name) < 0)
                                d->scan_pending = true;  /* scanned on what is known */
                }
        for (char **n = names; n && *n; n++)
                (void) requery(w, *n);

        if (w->batch) {
                /* Devices come and go at once; their scans wait for the
                 * batch that runs, and then go together. */
                w->pass_wanted = true;
                arm_ask_again(w);
                return 0;
        }
        w->pass_waiters = TAKE_PTR(w->waiters);
        w->n_pass_waiters = TAKE_GENERIC(w->n_waiters, 0);
        w->pass_start_usec = start;
        start_scans(w);
        return 0;
}

static int on_pass(sd_event_source *s, void *userdata) {
        (void) s;
        return run_pass(userdata);
}

static void on_source_changed(DeviceSource *s, const char *name, dev_t dev, void *userdata) {
        DeviceWatch *w = ASSERT_PTR(userdata);

        (void) s;
        queue_requery(w, name);
        /* The name may not be the one we know the device by (udev's, for a
         * device that is gone): the number is exact. */
        for (size_t i = 0; dev != 0 && i < w->n_devices; i++)
                if (w->devices[i]->info.dev == dev && (!name || !streq(w->devices[i]->info.name, name)))
                        queue_requery(w, w->devices[i]->info.name);
}

static int on_engine_mounts(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DeviceWatch *w = ASSERT_PTR(userdata);

        (void) s;
        (void) fd;
        (void) revents;
        w->engine_mounts_changed = true;
        queue_pass(w);
        return 0;
}

static void arm_reconcile(DeviceWatch *w) {
        usec_t usec = w->config->reconcile_usec;

        if (usec == 0) {
                (void) sd_event_source_set_enabled(w->reconcile_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(w->reconcile_source, usec);
        (void) sd_event_source_set_time_accuracy(w->reconcile_source, usec / 10);
        (void) sd_event_source_set_enabled(w->reconcile_source, SD_EVENT_ONESHOT);
}

static int on_reconcile(sd_event_source *s, uint64_t usec, void *userdata) {
        DeviceWatch *w = ASSERT_PTR(userdata);

        (void) s;
        (void) usec;
        log_debug("Reconciling every device with the kernel.");
        w->resync_pending = true;
        queue_pass(w);
        arm_reconcile(w);
        return 0;
}

static void close_engine_mounts(DeviceWatch *w) {
        w->mountinfo_source = sd_event_source_disable_unref(w->mountinfo_source);
        w->mountinfo_fd = safe_close(w->mountinfo_fd);
        dev_set_done(&w->engine_mounts);
        dev_set_done(&w->host_mounts);
}

static void open_engine_mounts(DeviceWatch *w) {
        char path[64];
        int r;

        close_engine_mounts(w);
        w->engine_mntns = 0;
        w->engine_pid = -1;
        if (w->engine)
                w->engine(w->userdata, &w->engine_mntns, &w->engine_pid);
        if (w->engine_pid <= 0)
                return;
        (void) snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int) w->engine_pid);
        w->mountinfo_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (w->mountinfo_fd < 0) {
                log_warning_errno(-errno, "Cannot follow the engine's mounts (%s): %m", path);
                return;
        }
        r = sd_event_add_io(w->event, &w->mountinfo_source, w->mountinfo_fd, EPOLLPRI, on_engine_mounts, w);
        if (r < 0)
                log_warning_errno(r, "Cannot follow the engine's mounts: %m");
}

int device_watch_new(sd_event *event, const Config *config, DeviceSource *source,
                     DeviceWatchEngine engine, DeviceWatchChanged changed, void *userdata,
                     DeviceWatch **ret) {
        _cleanup_(device_source_freep) DeviceSource *owned = source;
        _cleanup_(device_watch_freep) DeviceWatch *w = NULL;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->config = config;
        w->source = TAKE_PTR(owned);
        w->source->on_changed = on_source_changed;
        w->source->userdata = w;
        w->engine = engine;
        w->changed = changed;
        w->userdata = userdata;
        w->mountinfo_fd = -EBADF;
        w->engine_pid = -1;
        device_watch_set_walk(w, HOLDER_WALK_PROC, NULL);
        r = scan_limit_new(MAX_STALLED_SCANS, &w->scan_limit);
        if (r < 0)
                return r;
        r = stall_guard_new(STALLED_STEP_USEC, &w->stall_guard);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

DeviceWatch *device_watch_free(DeviceWatch *w) {
        if (!w)
                return NULL;
        close_engine_mounts(w);
        /* Told before the devices go: they may ask about them. */
        while (w->n_waiters > 0 || w->n_pass_waiters > 0) {
                ScanWaiter *waiter = w->n_pass_waiters > 0 ? &w->pass_waiters[--w->n_pass_waiters]
                                                           : &w->waiters[--w->n_waiters];

                waiter->done(w, -ECANCELED, "dmwardend is stopping.", waiter->userdata);
        }
        free(w->waiters);
        free(w->pass_waiters);
        w->batch = scan_batch_free(w->batch);
        targets_free(w);
        scan_limit_unref(w->scan_limit);
        stall_guard_unref(w->stall_guard);
        sd_event_source_disable_unref(w->pass_source);
        sd_event_source_disable_unref(w->reconcile_source);
        sd_event_source_disable_unref(w->ask_again_source);
        for (size_t i = 0; i < w->n_devices; i++)
                device_free(w->devices[i]);
        free(w->devices);
        pool_list_done(&w->pools);
        strv_free(w->pending_names);
        device_source_free(w->source);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

static void size_event_buffer(DeviceWatch *w) {
        int r;

        if (!w->source->ops->set_buffer)
                return;
        r = w->source->ops->set_buffer(w->source, w->config->udev_receive_buffer);
        if (r < 0)
                log_warning_errno(r, "Cannot resize the %s event buffer to %zu bytes, keeping its size: %m",
                                  w->source->ops->kind, w->config->udev_receive_buffer);
}

int device_watch_start(DeviceWatch *w) {
        int r;

        r = sd_event_add_defer(w->event, &w->pass_source, on_pass, w);
        if (r < 0)
                return log_error_errno(r, "Cannot add the scan pass: %m");
        (void) sd_event_source_set_enabled(w->pass_source, SD_EVENT_OFF);
        r = sd_event_add_time(w->event, &w->reconcile_source, CLOCK_MONOTONIC, 0, 0,
                                       on_reconcile, w);
        if (r < 0)
                return log_error_errno(r, "Cannot add the reconcile timer: %m");
        arm_reconcile(w);
        r = sd_event_add_time(w->event, &w->ask_again_source, CLOCK_MONOTONIC, 0, 0, on_ask_again, w);
        if (r < 0)
                return log_error_errno(r, "Cannot add the timer that asks about idle devices again: %m");
        (void) sd_event_source_set_enabled(w->ask_again_source, SD_EVENT_OFF);

        size_event_buffer(w);  /* applied by start */
        r = w->source->ops->start(w->source, w->event);
        if (r < 0)
                return log_error_errno(r, "Cannot follow %s device events: %m", w->source->ops->kind);
        open_engine_mounts(w);
        w->resync_pending = true;
        return run_pass(w);
}

void device_watch_set_walk(DeviceWatch *w, HolderWalk walk, TaskWalk *task_walk) {
        w->walk = walk;
        w->task_walk = task_walk;
        w->stats.walk = task_walk && walk != HOLDER_WALK_PROC ? HOLDER_WALK_BPF : HOLDER_WALK_PROC;
}

void device_watch_set_config(DeviceWatch *w, const Config *config) {
        w->config = config;
        size_event_buffer(w);
        arm_reconcile(w);
        w->resync_pending = true;
        queue_pass(w);
}

void device_watch_engine_changed(DeviceWatch *w) {
        uint64_t mntns = 0;
        pid_t pid = -1;

        if (w->engine)
                w->engine(w->userdata, &mntns, &pid);
        if (mntns == w->engine_mntns && pid == w->engine_pid)
                return;
        open_engine_mounts(w);
        for (size_t i = 0; i < w->n_devices; i++)
                w->devices[i]->scan_pending = true;
        queue_pass(w);
}

static ScanWaiter *mfree_waiters(ScanWaiter *p) {
        free(p);
        return NULL;
}

static int add_waiter(DeviceWatch *w, DeviceWatchScanned done, void *userdata) {
        ScanWaiter *grown;

        if (!done)
                return 0;
        grown = reallocarray(w->waiters, w->n_waiters + 1, sizeof(ScanWaiter));
        if (!grown)
                return -ENOMEM;
        w->waiters = grown;
        w->waiters[w->n_waiters++] = (ScanWaiter) { done, userdata };
        return 0;
}

int device_watch_scan_all(DeviceWatch *w, DeviceWatchScanned done, void *userdata) {
        int r;

        r = add_waiter(w, done, userdata);
        if (r < 0)
                return r;
        w->resync_pending = true;
        queue_pass(w);
        return 0;
}

int device_watch_when_scanned(DeviceWatch *w, DeviceWatchScanned done, void *userdata) {
        int r;

        r = add_waiter(w, done, userdata);
        if (r < 0)
                return r;
        queue_pass(w);
        return 0;
}

void device_watch_forget(DeviceWatch *w, void *userdata) {
        for (size_t i = w->n_waiters; i > 0; i--)
                if (w->waiters[i - 1].userdata == userdata)
                        memmove(w->waiters + i - 1, w->waiters + i, (w->n_waiters-- - i) * sizeof(ScanWaiter));
        for (size_t i = w->n_pass_waiters; i > 0; i--)
                if (w->pass_waiters[i - 1].userdata == userdata)
                        memmove(w->pass_waiters + i - 1, w->pass_waiters + i,
                                (w->n_pass_waiters-- - i) * sizeof(ScanWaiter));
        /* Nothing kept for nobody: a leak cycle leaves the heap as it was. */
        if (w->n_waiters == 0)
                w->waiters = mfree_waiters(w->waiters);
        if (w->n_pass_waiters == 0)
                w->pass_waiters = mfree_waiters(w->pass_waiters);
}

Device *device_watch_get(DeviceWatch *w, const char *name) {
        return find_device(w, name, NULL);
}

Device **device_watch_devices(DeviceWatch *w, size_t *ret_n) {
        *ret_n = w->n_devices;
        return w->devices;
}

void device_watch_stats(const DeviceWatch *w, DeviceWatchStats *ret) {
        *ret = w->stats;
        ret->n_watched = (unsigned) w->n_devices;
        ret->n_leaked = 0;
        for (size_t i = 0; i < w->n_devices; i++)
                if (device_state_is_leak(w->devices[i]->state))
                        ret->n_leaked++;
}

const DeviceInfo *device_watch_pools(DeviceWatch *w, size_t *ret_n) {
        *ret_n = w->pools.n_pools;
        return w->pools.pools;
}

const DeviceInfo *device_watch_pool(DeviceWatch *w, const char *name) {
        return pool_list_find(&w->pools, name);
}

/* Reads a device's space again; anything else that changed is the pass's
 * business, as for any change the source reports. */
static void refresh_device_space(DeviceWatch *w, Device *d) {
        _cleanup_(device_info_done) DeviceInfo info = {};

        if (w->source->ops->query(w->source, d->info.name, &info) < 0 || !info_equal(&d->info, &info)) {
                queue_requery(w, d->info.name);
                return;
        }
        d->info.mapped_bytes = info.mapped_bytes;
}

void device_watch_refresh_space(DeviceWatch *w) {
        for (size_t i = 0; i < w->n_devices; i++)
                refresh_device_space(w, w->devices[i]);
        device_watch_refresh_pools(w);
}

void device_watch_refresh_pools(DeviceWatch *w) {
        _cleanup_strv_free_ char **pools = NULL;

        /* A copy of the names: the list changes under the loop. */
        for (size_t i = 0; i < w->pools.n_pools; i++)
                if (strv_extend(&pools, w->pools.pools[i].name) < 0)
                        return;
        for (char **name = pools; name && *name; name++) {
                _cleanup_(device_info_done) DeviceInfo info = {};
                int r = w->source->ops->query(w->source, *name, &info);

                if (r == -ENODEV)
                        pool_list_drop(&w->pools, *name);
                else if (r >= 0)
                        (void) pool_list_update(&w->pools, &info);
        }
}

uint64_t device_watch_leaked_bytes(DeviceWatch *w, const char *pool) {
        uint64_t sum = 0;

        for (size_t i = 0; i < w->n_devices; i++) {
                const Device *d = w->devices[i];

                if (!device_state_is_leak(d->state) || d->info.mapped_bytes == THIN_BYTES_UNKNOWN)
                        continue;
                if (pool && !streq(d->info.pool, pool))
                        continue;
                sum += d->info.mapped_bytes;
        }
        return sum;
}

void device_watch_engine(DeviceWatch *w, uint64_t *ret_mntns, pid_t *ret_pid) {
        *ret_mntns = w->engine_mntns;
        *ret_pid = w->engine_pid;
}

int device_watch_rescan(DeviceWatch *w, Device *d, DeviceWatchScanned done, void *userdata) {
        int r;

        if (find_device(w, d->info.name, NULL) != d)
                return -ENODEV;
        r = add_waiter(w, done, userdata);
        if (r < 0)
                return r;
        d->scan_pending = true;
        queue_requery(w, d->info.name);
        return 0;
}

void device_watch_update(DeviceWatch *w, Device *d, DeviceState s) {
        DeviceState old = d->state;

        (void) device_set_state(d, s, now_usec(CLOCK_REALTIME));
        notify(w, d, DEVICE_EVENT_CHANGED, old);
}

int device_watch_remove_device(DeviceWatch *w, Device *d, bool deferred) {
        if (find_device(w, d->info.name, NULL) != d)
                return -ENODEV;
        if (d->state == DEVICE_ACTIVE || d->engine_mounted)
                return -EBUSY;
        return w->source->ops->remove(w->source, d->info.name, deferred);
}
