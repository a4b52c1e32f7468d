/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The set of watched devices, kept in line with the kernel: a device
 * source's events, the engine namespace's mount-table changes and a slow
 * reconcile timer queue devices for a scan; one scan pass (in an idle
 * event, so bursts coalesce) runs the holder scanner and moves each device
 * through its life cycle. Everything it knows can be re-derived from the
 * kernel at any time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "holders/task-walk.h"
#include "watch/device-source.h"
#include "watch/device.h"

typedef struct DeviceWatch DeviceWatch;

typedef enum DeviceEvent {
        DEVICE_EVENT_ADDED,     /* now watched */
        DEVICE_EVENT_CHANGED,   /* any property, the state included */
        DEVICE_EVENT_REMOVED,   /* gone: d is freed after the callback */
        DEVICE_EVENT_UNWATCHED, /* exists, but no longer matches the watch
                                 * rules (its table was replaced, say by
                                 * dmsetup remove --force, or a Reload):
                                 * d is freed after the callback */
        _DEVICE_EVENT_MAX,
} DeviceEvent;

/* Called for every change; old_state is the state before it. */
/* Whether the change put d into its state just now. A device new to the
 * watch enters whatever state it has: a restarted daemon finds old leaks,
 * and tells of them again. */
bool device_event_entered_state(DeviceEvent ev, const Device *d, DeviceState old_state);

typedef void (*DeviceWatchChanged)(DeviceWatch *w, Device *d, DeviceEvent ev,
                                   DeviceState old_state, void *userdata);
/* Where the engine namespace is: its inode and a process in it (for its
 * mountinfo), or 0 and -1 when there is none right now. */
typedef void (*DeviceWatchEngine)(void *userdata, uint64_t *ret_mntns, pid_t *ret_pid);

typedef struct DeviceWatchStats {
        unsigned n_watched;
        unsigned n_leaked;              /* leaked, reaping or stuck */
        usec_t last_scan_usec;          /* CLOCK_REALTIME, end of the last pass */
        usec_t last_scan_duration_usec;
        unsigned n_scans;               /* scan passes */
        uint64_t n_proc_walks;          /* walks over the processes the scans made */
        HolderWalk walk;                /* the last finished scan's, PROC or BPF;
                                         * before any, the one to be tried */
} DeviceWatchStats;

/* A pass of scans ended: r 0, or why some device could not be scanned
 * (-ETIMEDOUT: its scan stalled past ScanTimeoutSec=, -EBUSY: too many
 * stalled scans to start one, -ECANCELED: the watch is freed), and
 * message saying so for a person (NULL when r is 0). */
typedef void (*DeviceWatchScanned)(DeviceWatch *w, int r, const char *message, void *userdata);

/* Takes ownership of source. */
int device_watch_new(sd_event *event, const Config *config, DeviceSource *source,
                     DeviceWatchEngine engine, DeviceWatchChanged changed, void *userdata,
                     DeviceWatch **ret);
DeviceWatch *device_watch_free(DeviceWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(DeviceWatch *, device_watch_free);

/* How scans find the processes (holder-scan.h): walk as configured, and
 * task_walk (NULL: none), borrowed, to outlive the watch. Before
 * device_watch_start(); the default is /proc's walk. */
void device_watch_set_walk(DeviceWatch *w, HolderWalk walk, TaskWalk *task_walk);

/* Enumerates, starts the first scan of everything, then follows events.
 * Holder scans run off the loop (watch/scan-worker.h): a pass settles
 * what it can at once and hands every device that needs a scan to one
 * batch; their results are taken in as they come back. */
int device_watch_start(DeviceWatch *w);
void device_watch_set_config(DeviceWatch *w, const Config *config);
/* The engine namespace moved (engine restarted): re-arm the mount watch
 * and rescan everything. */
void device_watch_engine_changed(DeviceWatch *w);

/* Re-enumerates and rescans every device (the bus's Scan()); done (may be
 * NULL) is called once that pass has ended. */
int device_watch_scan_all(DeviceWatch *w, DeviceWatchScanned done, void *userdata);
/* Calls done once every device queued for a scan by now has been scanned
 * (READY=1 after the first scan). */
int device_watch_when_scanned(DeviceWatch *w, DeviceWatchScanned done, void *userdata);
/* Drops every pending done call with userdata, uncalled. */
void device_watch_forget(DeviceWatch *w, void *userdata);

Device *device_watch_get(DeviceWatch *w, const char *name);
/* Borrowed array, sorted by name; valid until the next loop iteration. */
Device **device_watch_devices(DeviceWatch *w, size_t *ret_n);
void device_watch_stats(const DeviceWatch *w, DeviceWatchStats *ret);

/* Every thin pool device-mapper has (watched or not), sorted by name, with
 * its space as last read; borrowed like device_watch_devices(). */
const DeviceInfo *device_watch_pools(DeviceWatch *w, size_t *ret_n);
const DeviceInfo *device_watch_pool(DeviceWatch *w, const char *name);
/* Reads the space of every watched device and pool again (a few ioctls
 * each, no scan); a device whose other details changed is queued for the
 * next pass. */
void device_watch_refresh_space(DeviceWatch *w);
/* The same for the pools alone (two ioctls each: cheap enough for a bus
 * property read). */
void device_watch_refresh_pools(DeviceWatch *w);
/* The bytes mapped by leaked devices (leaked, reaping, stuck) in pool,
 * NULL: in any pool. What freeing and deleting them would give back. */
uint64_t device_watch_leaked_bytes(DeviceWatch *w, const char *pool);

/* Whether config's [Watch] rules select the device. Pure. */
bool device_watch_matches(const Config *config, const DeviceInfo *info);

/* For leak handling (reap/leak-handler.h), which acts on what the watch
 * found. */
/* The engine namespace and a process in it as the watch uses them now. */
void device_watch_engine(DeviceWatch *w, uint64_t *ret_mntns, pid_t *ret_pid);
/* Asks the kernel about d and scans it again in the next pass (after a
 * reap, to see what is left), and calls done (may be NULL) when that pass
 * has ended; d may be gone by then. */
int device_watch_rescan(DeviceWatch *w, Device *d, DeviceWatchScanned done, void *userdata);
/* Moves d to s (or keeps it) and tells the change callback, so a new
 * last_action is seen too. */
void device_watch_update(DeviceWatch *w, Device *d, DeviceState s);
/* Deactivates d through the source. Only a device this watch has, and
 * never one the engine holds: -ENODEV (also when the source has it no
 * more), -EBUSY. */
int device_watch_remove_device(DeviceWatch *w, Device *d, bool deferred);
