/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One watched device-mapper device: what device-mapper says about it, where
 * it is in its life cycle, and who held it at the last scan. */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "holders/holder-records.h"
#include "watch/thin-status.h"

/* The life cycle of docs/design.md: active → idle | leaked → reaping → released
 * → removed; stuck when a leak cannot be (or may not be) ended. */
typedef enum DeviceState {
        DEVICE_ACTIVE,          /* the engine holds it */
        DEVICE_IDLE,            /* exists, nobody holds it */
        DEVICE_LEAKED,          /* the engine let go, others still hold it */
        DEVICE_REAPING,         /* an action against its holders runs */
        DEVICE_STUCK,           /* leaked, and policy or reaping cannot end it */
        DEVICE_RELEASED,        /* was leaked, no references left */
        DEVICE_REMOVED,         /* gone from device-mapper */
        _DEVICE_STATE_MAX,
        _DEVICE_STATE_INVALID = -EINVAL,
} DeviceState;

/* One snapshot of a device as device-mapper (or a test source) reports it. */
typedef struct DeviceInfo {
        char *name;
        char *uuid;             /* "" if it has none */
        dev_t dev;
        uint64_t diskseq;       /* the kernel's number for this disk, never
                                 * reused until reboot (Linux 5.15+; 0:
                                 * unknown): a device re-created under the
                                 * same name and number is another device */
        char *target;           /* type of the first target: "thin", "linear" */
        char *pool;             /* thin: the pool's device-mapper name (or
                                 * "MAJ:MIN" if it has none); else "" */
        unsigned open_count;    /* OPEN_COUNT_UNKNOWN: nobody counts (tests) */
        bool deferred_remove;   /* flagged for removal at last close */
        bool suspended;
        /* thin: the bytes it maps in its pool, which its removal and the
         * deletion of its thin volume give back; THIN_BYTES_UNKNOWN if the
         * status did not say (or not thin) */
        uint64_t mapped_bytes;
        /* thin-pool: its data and metadata space, if pool_space_known */
        ThinPoolSpace pool_space;
        bool pool_space_known;
} DeviceInfo;

#define DEVICE_TARGET_THIN "thin"
#define DEVICE_TARGET_THIN_POOL "thin-pool"

#define OPEN_COUNT_UNKNOWN UINT_MAX

void device_info_done(DeviceInfo *i);
/* Fills the space fields from the first target's table parameters and
 * status line (thin and thin-pool; others are left unknown). A line that
 * does not parse leaves them unknown and returns its error. */
int device_info_apply_status(DeviceInfo *i, const char *params, const char *status);
int device_info_copy(const DeviceInfo *from, DeviceInfo *to);

/* How the engine let a device go: what makes others' references a leak.
 * Engines do not say so; each of these is the kernel's trace of it. */
typedef enum DeviceLetGo {
        DEVICE_LET_GO_NONE,
        DEVICE_LET_GO_DEFERRED, /* it asked for removal, which device-mapper
                                 * deferred because the device is busy */
        DEVICE_LET_GO_FORCED,   /* a forced removal (dmsetup remove --force,
                                 * as containerd does) swapped its table for
                                 * "error" */
        DEVICE_LET_GO_SETTLED,  /* it unmounted the device, and others kept
                                 * its filesystem for SettleSec= (an engine
                                 * that retries its removal, as Docker does
                                 * without deferred removal) */
        _DEVICE_LET_GO_MAX,
} DeviceLetGo;

/* A forced removal leaves the device with this target type. */
#define DEVICE_TARGET_ERROR "error"

/* What a scan found, reduced to what the life cycle needs. */
typedef struct DeviceUse {
        bool engine_holds;      /* mounted in the engine namespace, or referenced
                                 * by a process in it */
        bool others_hold;       /* any reference outside the engine namespace,
                                 * or a stacked device */
        bool engine_let_go;     /* the engine let it go (DeviceLetGo): only
                                 * then are others' references a leak */
} DeviceUse;

typedef struct Device {
        DeviceInfo info;
        DeviceState state;
        usec_t leaked_since_usec;       /* CLOCK_REALTIME; 0 when not leaked */
        usec_t state_since_usec;        /* CLOCK_REALTIME */
        char *last_action;              /* "" until one ran: "detach: ok" */

        HolderRecords holders;          /* from the last scan, outside the engine */
        usec_t last_scan_usec;          /* CLOCK_REALTIME; 0: never scanned */

        bool scan_pending;              /* queued for the next scan pass */
        /* Idle while others hold it: when to ask the kernel again whether
         * the engine has let go (CLOCK_MONOTONIC; 0: not asking), and the
         * interval after that one */
        usec_t ask_again_usec;
        usec_t ask_interval_usec;
        bool engine_mounted;            /* in the engine namespace's mount table */
        /* The engine namespace mounted it and the host's did not: only such
         * a device can be let go by the settle rule */
        bool engine_owned;
        DeviceLetGo let_go;             /* how the engine let it go, if it did */
        /* Since when (CLOCK_MONOTONIC) its filesystem has been held outside
         * the engine while the engine does not hold it; 0: it is not */
        usec_t held_outside_since_usec;
        /* pidfds of its holders: any exit triggers a rescan, since nothing
         * else says when a leak's last holder went */
        sd_event_source **exit_watches;
        size_t n_exit_watches;
        char *object_path;              /* the bus layer's; owned here */
} Device;

int device_new(const DeviceInfo *info, Device **ret);
Device *device_free(Device *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free);

/* Drops the exit watches (the holders changed, or the device goes). */
void device_clear_exit_watches(Device *d);
/* Replaces the exit watches with one per holder process, each calling
 * handler(userdata) on the loop when it exits. A holder already gone (or
 * one that cannot be watched) sets scan_pending: nothing else would say
 * the holders changed until the periodic reconcile. */
void device_add_exit_watches(Device *d, sd_event *event, sd_event_io_handler_t handler, void *userdata);

/* The next state after a scan. Pure: the unit suite covers every row.
 * exists=false means device-mapper no longer has it. */
DeviceState device_next_state(DeviceState old, bool exists, const DeviceUse *use);

/* Moves d to state s and stamps the times; returns whether it changed. */
bool device_set_state(Device *d, DeviceState s, usec_t now_realtime);

const char *device_state_to_string(DeviceState s);
/* How the engine let the device go, if it did: from what device-mapper says
 * and, for the settle rule, since when its filesystem has been held
 * outside the engine (0: it is not). Pure. */
DeviceLetGo device_let_go(const DeviceInfo *info, usec_t held_outside_since, usec_t now, usec_t settle);
/* Whether the engine itself asked for the device's removal (deferred or
 * forced), so removing it once free does what the engine wanted. A device
 * whose let-go was inferred from time alone is left to the engine: it may
 * still want it (containerd keeps a stopped container's device until the
 * container is deleted). */
bool device_info_removal_asked(const DeviceInfo *info);
/* Whether a holder row is a reference to the device's filesystem (a mount,
 * a file, cwd, root or mapping on it, a namespace pin), as opposed to the
 * device used as a block device (an open node, a stacked or loop device,
 * an open count nothing explains): a VM monitor or stacked device the
 * engine set up uses it that way while the engine still wants it. */
bool holder_record_uses_filesystem(const HolderRecord *h);
const char *device_let_go_to_string(DeviceLetGo l);

/* Leaked, being reaped or stuck: what LeakedDevices counts. */
bool device_state_is_leak(DeviceState s);
DeviceState device_state_from_string(const char *s);
