/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Events from the watch only mark work; one deferred dispatch does it, so
 * nothing here runs inside the watch's scan or a job's own callback. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "holders/proc-util.h"
#include "reap/alert-ratelimit.h"
#include "reap/alert.h"
#include "reap/leak-handler.h"
#include "reap/reap-job.h"
#include "shared/bus-error.h"

/* Immediate removal retries for a few seconds: udev or blkid may still have
 * the node open for a moment after the last holder went. On a timer, one
 * ioctl a try: libdevmapper's own retries would sleep in the event loop. */
#define REMOVE_RETRY_USEC (200 * USEC_PER_MSEC)
#define REMOVE_ATTEMPTS 25U
/* An engine whose forced removal failed retries it (containerd: 100 times,
 * each `dmsetup remove --retry`, 25 tries 200 ms apart): once the device is
 * free its next try succeeds within a fraction of a second, and then it
 * deletes the thin volume itself. dmwarden removing the device first would
 * fail that try. So the engine goes first; a device still there after this
 * long has been given up on, and dmwarden removes it. */
#define ENGINE_REMOVAL_TURN_USEC (10 * USEC_PER_SEC)

typedef struct LeakEntry {
        LeakHandler *handler;
        char *name;
        Device *device;                 /* NULL once the watch dropped it */
        AlertRateLimit ratelimit;

        bool leak_pending;              /* alert and run Action= at the next dispatch */
        bool removal_pending;
        bool removal_requested;         /* the source was asked to remove it */
        unsigned removal_attempts;
        bool engine_turn_over;          /* the engine had its turn to remove it */

        ReapJob *job;
        ReapAction action;              /* of the round that runs */
        bool strong_phase;              /* the job is the action after detach */
        bool round_done;                /* the job ended: look again */
        bool round_rescan;              /* ... and the scan that looks is asked for */
        bool leak_rescan;               /* a fresh scan before acting on the leak */
        bool rescanned;                 /* the scan asked for has come back */

        sd_event_source *stuck_timer;
        sd_event_source *retry_timer;
} LeakEntry;

struct LeakHandler {
        sd_event *event;
        const Config *config;
        DeviceWatch *watch;
        const LeakHandlerOps *ops;
        void *userdata;
        uint64_t holders_reaped;
        uint64_t devices_removed;
        LeakCounters counters;
        LeakEntry **entries;
        size_t n_entries;
        sd_event_source *dispatch_source;
        uint64_t self_mntns;
        char *self_unit;
};

static LeakEntry *entry_free(LeakEntry *e) {
        if (!e)
                return NULL;
        device_watch_forget(e->handler->watch, e);
        reap_job_free(e->job);
        sd_event_source_disable_unref(e->stuck_timer);
        sd_event_source_disable_unref(e->retry_timer);
        free(e->name);
        free(e);
        return NULL;
}

static void schedule(LeakHandler *h) {
        (void) sd_event_source_set_enabled(h->dispatch_source, SD_EVENT_ONESHOT);
}

static LeakEntry *find_entry(LeakHandler *h, const Device *d) {
        for (size_t i = 0; i < h->n_entries; i++)
                if (h->entries[i]->device == d)
                        return h->entries[i];
        return NULL;
}

static LeakEntry *get_entry(LeakHandler *h, Device *d) {
        LeakEntry *e = find_entry(h, d), **grown;

        if (e)
                return e;
        grown = reallocarray(h->entries, h->n_entries + 1, sizeof(LeakEntry *));
        if (!grown)
                return NULL;
        h->entries = grown;
        e = calloc(1, sizeof(*e));
        if (!e)
                return NULL;
        e->name = strdup(d->info.name);
        if (!e->name)
                return entry_free(e);
        e->handler = h;
        e->device = d;
        h->entries[h->n_entries++] = e;
        return e;
}

static const Config *config(LeakHandler *h) {
        return h->config;
}

/* Sends a for e's device unless its rate limit says no. */
static void alert(LeakEntry *e, Alert *a) {
        Device *d = e->device;

        if (!d)
                return;
        a->dm_name = d->info.name;
        a->dm_uuid = d->info.uuid;
        a->dm_pool = d->info.pool;
        a->dev = d->info.dev;
        a->mapped_bytes = d->info.mapped_bytes;
        a->mapped_bytes_known = d->info.mapped_bytes != THIN_BYTES_UNKNOWN;
        if (!alert_ratelimit_test(&e->ratelimit, a->kind, now_usec(CLOCK_MONOTONIC), &a->n_suppressed)) {
                log_debug("Alert %s for %s suppressed by the rate limit.", alert_kind_to_string(a->kind), e->name);
                return;
        }
        (void) alert_send(a);
}

static void alert_set_holder(Alert *a, const HolderRecord *r) {
        a->holder_pid = r->pid;
        a->holder_comm = r->comm;
        a->holder_unit = r->unit;
        a->holder_mntns = r->mntns;
        a->holder_kind = r->kind;
        a->mountpoint = r->path;
}

/* How much a row says about what keeps a device: a process's own file,
 * cwd or fd (what detach cannot end) first, then a mount, then what merely
 * keeps a namespace or stacks on the device. */
static int holder_rank(const HolderRecord *r) {
        if (r->pid > 0 && !streq(r->kind, "mount") && strncmp(r->kind, "pin-", 4) != 0)
                return 3;
        if (streq(r->kind, "mount"))
                return 2;
        return strncmp(r->kind, "pin-", 4) == 0 ? 1 : 0;
}

static const HolderRecord *main_holder(const Device *d) {
        const HolderRecord *best = NULL;

        for (size_t i = 0; i < d->holders.n_rows; i++)
                if (!best || holder_rank(&d->holders.rows[i]) > holder_rank(best))
                        best = &d->holders.rows[i];
        return best;
}

static void alert_about_holders(LeakEntry *e, AlertKind kind) {
        const Device *d = e->device;
        const HolderRecord *r = main_holder(d);
        Alert a = {
                .kind = kind,
                .action = reap_action_to_string(e->device->state == DEVICE_LEAKED ? config(e->handler)->action
                                                                                      : e->action),
                .n_more_holders = d->holders.n_rows > 0 ? (unsigned) d->holders.n_rows - 1 : 0,
                .let_go = d->let_go != DEVICE_LET_GO_NONE ? device_let_go_to_string(d->let_go) : NULL,
        };

        if (r)
                alert_set_holder(&a, r);
        alert(e, &a);
}

static void set_last_action(LeakEntry *e, const char *action, const char *result) {
        Device *d = e->device;
        char *s;

        if (asprintf(&s, "%s: %s", action, result) < 0)
                return;
        free(d->last_action);
        d->last_action = s;
        device_watch_update(e->handler->watch, d, d->state);
}

static int on_stuck_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LeakEntry *e = ASSERT_PTR(userdata);

        (void) usec;
        if (!e->device || e->device->state != DEVICE_STUCK)
                return 0;
        alert_about_holders(e, ALERT_LEAK_STUCK);
        /* Not sent (the burst is spent)? Try again once the window moved. */
        (void) sd_event_source_set_time(s, MAX(alert_ratelimit_stuck_due(&e->ratelimit),
                                               now_usec(CLOCK_MONOTONIC) + USEC_PER_MINUTE));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void become_stuck(LeakEntry *e) {
        LeakHandler *h = e->handler;
        Device *d = e->device;

        device_watch_update(h->watch, d, DEVICE_STUCK);
        alert_about_holders(e, ALERT_LEAK_STUCK);
        if (!e->stuck_timer &&
            sd_event_add_time(h->event, &e->stuck_timer, CLOCK_MONOTONIC, 0, USEC_PER_MINUTE, on_stuck_timer,
                              e) < 0)
                return;
        (void) sd_event_source_set_time(e->stuck_timer, now_usec(CLOCK_MONOTONIC) + ALERT_STUCK_REPEAT_USEC);
        (void) sd_event_source_set_enabled(e->stuck_timer, SD_EVENT_ONESHOT);
}

static void on_op_done(ReapJob *j, const ReapOutcome *o, void *userdata) {
        LeakEntry *e = ASSERT_PTR(userdata);
        LeakHandler *h = e->handler;
        Device *d = e->device;
        Alert a = { .action = o->action, .result = o->result };

        (void) j;
        if (!d)
                return;
        alert_set_holder(&a, o->holder);
        if (o->reaped || o->error < 0) {
                ReapAction act = reap_action_from_string(o->action);

                if (act >= 0 && act < _REAP_ACTION_MAX)
                        (o->reaped ? h->counters.reaped : h->counters.reap_failed)[act]++;
        }
        if (o->reaped) {
                h->holders_reaped++;
                a.kind = ALERT_HOLDER_REAPED;
                alert(e, &a);
                h->ops->holder_reaped(h->userdata, d, o->holder, o->action, o->result);
        } else if (o->error < 0) {
                a.kind = ALERT_REAP_FAILED;
                alert(e, &a);
        } else
                log_info("Device %s: %s of PID %d: %s.", e->name, o->action, (int) o->holder->pid, o->result);
        set_last_action(e, o->action, o->result);
}

static void on_job_done(ReapJob *j, void *userdata) {
        LeakEntry *e = ASSERT_PTR(userdata);

        (void) j;
        e->round_done = true;
        schedule(e->handler);
}

static bool has_mounts(const Device *d) {
        for (size_t i = 0; i < d->holders.n_rows; i++)
                if (streq(d->holders.rows[i].kind, "mount"))
                        return true;
        return false;
}

static int start_job(LeakEntry *e, ReapAction action) {
        LeakHandler *h = e->handler;
        const Config *c = config(h);
        ProtectPolicy policy = {
                .self_pid = getpid(),
                .self_unit = h->self_unit,
                .self_mntns = h->self_mntns,
                .protect_units = c->protect_units,
                .protect_comms = c->protect_comms,
        };
        ReapJobParams p = {
                .event = h->event,
                .dev = e->device->info.dev,
                .action = action,
                .grace_usec = c->grace_usec,
                .policy = &policy,
                .op_done = on_op_done,
                .done = on_job_done,
                .userdata = e,
        };
        int r;

        device_watch_engine(h->watch, &policy.engine_mntns, &policy.engine_pid);
        if (policy.engine_mntns == 0)
                policy.engine_mntns = h->ops->engine_namespace(h->userdata);
        r = reap_job_start(&p, &e->device->holders, &e->job);
        if (r < 0)
                return log_error_errno(r, "Device %s: cannot start %s: %m", e->name, reap_action_to_string(action));
        if (r == 0)
                log_info("Device %s: nothing %s can act on.", e->name, reap_action_to_string(action));
        return 0;
}

/* One round of action against e's holders: detach first where there are
 * mounts, then the stronger action if it is allowed. */
static int start_round(LeakEntry *e, ReapAction action) {
        Device *d = e->device;
        int r;

        e->action = action;
        if (action == REAP_REPORT) {
                set_last_action(e, "report", "nothing done (Action=report)");
                become_stuck(e);
                return 0;
        }
        e->strong_phase = action == REAP_DETACH || !has_mounts(d);
        device_watch_update(e->handler->watch, d, DEVICE_REAPING);
        r = start_job(e, e->strong_phase ? action : REAP_DETACH);
        if (r < 0) {
                char result[128];

                (void) snprintf(result, sizeof(result), "failed (%s)", strerror(-r));
                set_last_action(e, reap_action_to_string(action), result);
                become_stuck(e);
        }
        return r;
}

static void on_rescanned(DeviceWatch *w, int r, const char *message, void *userdata) {
        LeakEntry *e = ASSERT_PTR(userdata);

        (void) w;
        (void) r;
        (void) message;
        e->rescanned = true;
        schedule(e->handler);
}

/* Asks for a fresh scan of e's device; false when none will come (then
 * what is known must do). */
static bool rescan(LeakEntry *e) {
        return device_watch_rescan(e->handler->watch, e->device, on_rescanned, e) >= 0;
}

/* The job ended: a scan looks at what is left. */
static void finish_round(LeakEntry *e) {
        e->job = reap_job_free(e->job);
        e->round_rescan = true;
        e->rescanned = !rescan(e);
}

/* What is left after the round decides. */
static void round_scanned(LeakEntry *e) {
        if (!e->device || e->device->state != DEVICE_REAPING)
                return;  /* released, gone, or the engine's again */
        if (!e->strong_phase) {
                e->strong_phase = true;
                if (start_job(e, e->action) >= 0)
                        return;
        }
        become_stuck(e);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        LeakEntry *e = ASSERT_PTR(userdata);

        (void) s;
        (void) usec;
        e->removal_pending = true;
        schedule(e->handler);
        return 0;
}

/* Looks at the removal of e's device again in usec. */
static int retry_removal_in(LeakEntry *e, usec_t usec) {
        if (!e->retry_timer)
                return sd_event_add_time_relative(e->handler->event, &e->retry_timer, CLOCK_MONOTONIC, usec, 0,
                                                  on_retry, e);
        (void) sd_event_source_set_time_relative(e->retry_timer, usec);
        return sd_event_source_set_enabled(e->retry_timer, SD_EVENT_ONESHOT);
}

static void remove_released(LeakEntry *e) {
        LeakHandler *h = e->handler;
        RemoveMode mode = config(h)->remove;
        Device *d = e->device;
        char result[256];
        int r;

        if (mode == REMOVE_NO || d->state != DEVICE_RELEASED || !device_info_removal_asked(&d->info))
                return;
        if (streq(d->info.target, DEVICE_TARGET_ERROR) && !e->engine_turn_over) {
                e->engine_turn_over = true;
                if (retry_removal_in(e, ENGINE_REMOVAL_TURN_USEC) >= 0) {
                        log_debug("Device %s: free; the engine's retry of its forced removal goes first.", e->name);
                        return;
                }
        }
        r = device_watch_remove_device(h->watch, d, mode == REMOVE_DEFERRED);
        if (r == -ENODEV) {
                /* Gone already: the engine had asked for deferred removal, so
                 * the kernel removed it at the last close, after the scan
                 * that found it free. No failure: asking again drops it (d
                 * may be freed by that). */
                log_debug("Device %s: gone before its removal was asked for.", e->name);
                (void) device_watch_rescan(h->watch, d, NULL, NULL);
                return;
        }
        if (r == -EBUSY && mode == REMOVE_IMMEDIATE && ++e->removal_attempts < REMOVE_ATTEMPTS &&
            retry_removal_in(e, REMOVE_RETRY_USEC) >= 0)
                return;
        if (r < 0) {
                (void) snprintf(result, sizeof(result), "failed (%s)", strerror(-r));
                set_last_action(e, "remove", result);
                alert(e, &(Alert) { .kind = ALERT_REMOVAL_FAILED, .action = "remove", .result = result });
                return;
        }
        e->removal_requested = true;
        set_last_action(e, "remove", mode == REMOVE_DEFERRED ? "requested (deferred)" : "requested");
        log_info("Device %s: removal requested (Remove=%s).", e->name, remove_mode_to_string(mode));
}

/* While the engine (re)starts, its namespace cannot be told from a leak's:
 * nothing is alerted, reaped or removed until it runs again. */
static bool engine_settled(LeakHandler *h) {
        return h->ops->engine_running(h->userdata);
}

/* Acts on fresh facts only: a leak seen a moment ago may have been the
 * engine's mounts before its namespace was known again. */
static void handle_leak(LeakEntry *e) {
        e->leak_rescan = true;
        e->rescanned = !rescan(e);
}

static void leak_scanned(LeakEntry *e) {
        if (!e->device || e->device->state != DEVICE_LEAKED || e->job)
                return;
        alert_about_holders(e, ALERT_LEAK_DETECTED);
        e->handler->counters.leaks_detected++;
        (void) start_round(e, config(e->handler)->action);
}

/* What happens to a device now free, by how the engine let it go. */
static const char *released_next_step(const Device *d, RemoveMode mode) {
        if (!device_info_removal_asked(&d->info))
                return "The engine never asked for its removal (it only unmounted it), so dmwarden leaves it to "
                       "the engine, whose next removal now succeeds";
        if (mode == REMOVE_NO)
                return "Remove=no: remove it with dmsetup remove when it suits";
        if (d->let_go == DEVICE_LET_GO_FORCED)
                return "Its table was replaced by error when the engine forced its removal: the engine's own "
                       "retry may now remove it and delete its thin volume; if the device is still there in 10 s, "
                       "dmwarden removes it, and the thin volume stays in the pool until the engine deletes it "
                       "(containerd at its next garbage collection, Docker at the next docker rm)";
        return "dmwarden removes it now";
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        LeakHandler *h = ASSERT_PTR(userdata);

        (void) s;
        if (!engine_settled(h))
                log_debug("Leak handling waits until the engine runs.");
        /* Entries only go below, so the loop may rescan (and drop devices).
         * Without a running engine all stays pending: its return
         * dispatches again. */
        for (size_t i = 0; engine_settled(h) && i < h->n_entries; i++) {
                LeakEntry *e = h->entries[i];

                if (e->device && e->round_done) {
                        e->round_done = false;
                        finish_round(e);
                }
                if (e->device && e->leak_pending) {
                        e->leak_pending = false;
                        handle_leak(e);
                }
                if (e->rescanned) {
                        e->rescanned = false;
                        if (TAKE_GENERIC(e->round_rescan, false))
                                round_scanned(e);
                        if (TAKE_GENERIC(e->leak_rescan, false))
                                leak_scanned(e);
                }
                if (e->device && e->removal_pending) {
                        e->removal_pending = false;
                        remove_released(e);
                }
        }
        for (size_t i = h->n_entries; i > 0; i--)
                if (!h->entries[i - 1]->device) {
                        entry_free(h->entries[i - 1]);
                        memmove(h->entries + i - 1, h->entries + i, (h->n_entries - i) * sizeof(LeakEntry *));
                        h->n_entries--;
                }
        return 0;
}

static void device_gone(LeakEntry *e, DeviceState old_state) {
        LeakHandler *h = e->handler;

        /* What the job did is told before the job goes with the device:
         * the holder's exit and the device's removal may come in one
         * wake-up, removal first. */
        reap_job_flush(e->job);
        if (e->removal_requested || old_state == DEVICE_RELEASED || device_state_is_leak(old_state)) {
                h->devices_removed++;
                alert(e, &(Alert) {
                        .kind = ALERT_DEVICE_REMOVED,
                        .result = e->removal_requested          ? "removed by dmwarden"
                                  : e->device->info.deferred_remove ? "removed at its last close"
                                                                    : "removed by the engine",
                });
        }
        e->job = reap_job_free(e->job);
        e->device = NULL;  /* freed by the watch after this */
        schedule(h);
}

/* Still there but no longer ours (its table replaced under a reap, say):
 * nothing was released or removed, and its holders are left alone. */
static void device_unwatched(LeakEntry *e, DeviceState old_state) {
        const Device *d = e->device;

        if (device_state_is_leak(old_state) || e->job)
                log_notice("Device %s is no longer a watched device (now target %s%s%s) while %s; leak handling "
                           "of it stops and its holders are left alone.",
                           e->name, isempty(d->info.target) ? "none" : d->info.target,
                           isempty(d->info.pool) ? "" : ", pool ", strempty(d->info.pool),
                           device_state_to_string(old_state));
        e->job = reap_job_free(e->job);
        e->device = NULL;  /* freed by the watch after this */
        schedule(e->handler);
}

void leak_handler_device_changed(LeakHandler *h, Device *d, DeviceEvent ev, DeviceState old_state) {
        LeakEntry *e = get_entry(h, d);
        bool entered = device_event_entered_state(ev, d, old_state);

        if (!e) {
                log_oom();
                return;
        }
        if (ev == DEVICE_EVENT_REMOVED) {
                device_gone(e, old_state);
                return;
        }
        if (ev == DEVICE_EVENT_UNWATCHED) {
                device_unwatched(e, old_state);
                return;
        }
        if (!entered)
                return;
        if (old_state == DEVICE_STUCK) {
                alert_ratelimit_stuck_over(&e->ratelimit);
                (void) sd_event_source_set_enabled(e->stuck_timer, SD_EVENT_OFF);
        }
        switch (d->state) {
        case DEVICE_LEAKED:
                /* Also a leak a restarted daemon finds again. */
                e->leak_pending = true;
                break;
        case DEVICE_RELEASED: {
                RemoveMode mode = config(h)->remove;

                /* A job that still runs may finish: its outcomes are
                 * told, and finding the device released it stops. What
                 * it did already comes first, before "released". */
                reap_job_flush(e->job);
                alert(e, &(Alert) { .kind = ALERT_DEVICE_RELEASED, .result = released_next_step(d, mode) });
                e->removal_attempts = 0;
                e->engine_turn_over = false;
                e->removal_pending = true;
                break;
        }
        case DEVICE_ACTIVE:
        case DEVICE_IDLE:
                e->job = reap_job_free(e->job);
                break;
        default:
                break;
        }
        schedule(h);
}

void leak_handler_engine_changed(LeakHandler *h) {
        schedule(h);
}

int leak_handler_reap(LeakHandler *h, Device *d, ReapAction action, sd_bus_error *error) {
        LeakEntry *e = get_entry(h, d);

        if (!e)
                return -ENOMEM;
        if (action < 0 || action >= _REAP_ACTION_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown action %d.", (int) action);
        if (d->state == DEVICE_REAPING || e->job)
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "Device %s is being reaped already.", e->name);
        if (!IN_SET(d->state, DEVICE_LEAKED, DEVICE_STUCK))
                return sd_bus_error_setf(error, BUS_ERROR_NOT_LEAKED, "Device %s is %s, not leaked: nothing to reap.",
                                         e->name, device_state_to_string(d->state));
        if (!engine_settled(h))
                return sd_bus_error_setf(error, BUS_ERROR_BUSY,
                                         "The engine is not running; its namespace cannot be told from a leak now.");
        e->leak_pending = false;
        return start_round(e, action);
}

int leak_handler_remove(LeakHandler *h, Device *d, sd_bus_error *error) {
        LeakEntry *e = get_entry(h, d);
        RemoveMode mode = config(h)->remove;
        int r;

        if (!e)
                return -ENOMEM;
        if (d->state == DEVICE_ACTIVE || d->engine_mounted)
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "Device %s is the engine's; it is not removed.", e->name);
        if (device_state_is_leak(d->state))
                return sd_bus_error_setf(error, BUS_ERROR_BUSY,
                                         "Device %s is still held (%zu reference%s); reap its holders first.",
                                         e->name, d->holders.n_rows, d->holders.n_rows == 1 ? "" : "s");
        /* An operator asking overrides Remove=no, never the checks above. */
        r = device_watch_remove_device(h->watch, d, mode != REMOVE_IMMEDIATE);
        if (r == -ENODEV)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_WATCHED, "Device %s is not watched.", e->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot remove %s: %s", e->name, strerror(-r));
        e->removal_requested = true;
        set_last_action(e, "remove", "requested by an operator");
        return 0;
}

void leak_handler_set_config(LeakHandler *h, const Config *config) {
        h->config = config;
}

void leak_handler_get_counters(const LeakHandler *h, LeakCounters *ret) {
        *ret = h->counters;
        ret->devices_removed = h->devices_removed;
}

void leak_handler_counters(const LeakHandler *h, uint64_t *ret_holders_reaped, uint64_t *ret_devices_removed) {
        *ret_holders_reaped = h->holders_reaped;
        *ret_devices_removed = h->devices_removed;
}

int leak_handler_new(sd_event *event, const Config *config, DeviceWatch *watch, const LeakHandlerOps *ops,
                     void *userdata, LeakHandler **ret) {
        _cleanup_(leak_handler_freep) LeakHandler *h = NULL;
        _cleanup_close_ int proc_fd = -EBADF;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (LeakHandler) {
                .event = event,
                .config = config,
                .watch = watch,
                .ops = ops,
                .userdata = userdata,
        };
        r = sd_event_add_defer(event, &h->dispatch_source, on_dispatch, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->dispatch_source, "leak-dispatch");
        (void) sd_event_source_set_enabled(h->dispatch_source, SD_EVENT_OFF);

        /* What protects us from ourselves: our namespace and our unit. */
        proc_fd = proc_open();
        if (proc_fd < 0)
                return proc_fd;
        r = proc_read_mntns(proc_fd, 0, &h->self_mntns);
        if (r < 0)
                return r;
        (void) proc_read_unit(proc_fd, getpid(), &h->self_unit);
        *ret = TAKE_PTR(h);
        return 0;
}

LeakHandler *leak_handler_free(LeakHandler *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_entries; i++)
                entry_free(h->entries[i]);
        free(h->entries);
        sd_event_source_disable_unref(h->dispatch_source);
        free(h->self_unit);
        free(h);
        return NULL;
}
