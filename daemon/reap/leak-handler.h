/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leak handling: what happens when a watched device turns leaked. It
 * alerts (rate-limited per device), runs [Policy] Action= against the
 * holders, least harmful first (detach, then restart-unit or kill if
 * allowed), looks again, and ends in released or stuck; a released device
 * is removed as Remove= says. Owned by the Manager, fed by the watch. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "config/config.h"
#include "watch/device-watch.h"

typedef struct LeakHandler LeakHandler;

/* What leak handling asks of its owner, which knows the engine and the
 * bus. */
typedef struct LeakHandlerOps {
        /* Whether the engine runs: while it (re)starts, its namespace
         * cannot be told from a leak's. */
        bool (*engine_running)(void *userdata);
        /* The engine namespace's inode, for protecting it when the watch
         * knows no engine location (the engine is stopping). */
        uint64_t (*engine_namespace)(void *userdata);
        /* A holder of d was reaped (HolderReaped on the bus). */
        void (*holder_reaped)(void *userdata, Device *d, const HolderRecord *h, const char *action,
                              const char *result);
} LeakHandlerOps;

/* event, config and watch are borrowed and must outlive the handler. */
int leak_handler_new(sd_event *event, const Config *config, DeviceWatch *watch, const LeakHandlerOps *ops,
                     void *userdata, LeakHandler **ret);
LeakHandler *leak_handler_free(LeakHandler *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(LeakHandler *, leak_handler_free);

/* The configuration after a reload; borrowed like the first. */
void leak_handler_set_config(LeakHandler *h, const Config *config);

/* What leak handling did since start, for the metrics. */
typedef struct LeakCounters {
        uint64_t leaks_detected;
        uint64_t reaped[_REAP_ACTION_MAX];      /* holders freed, by action */
        uint64_t reap_failed[_REAP_ACTION_MAX]; /* failed or refused, by action */
        uint64_t devices_removed;
} LeakCounters;

void leak_handler_get_counters(const LeakHandler *h, LeakCounters *ret);

/* Holders reaped and devices removed since start. */
void leak_handler_counters(const LeakHandler *h, uint64_t *ret_holders_reaped, uint64_t *ret_devices_removed);

/* Every change the watch reports (the manager forwards them). */
void leak_handler_device_changed(LeakHandler *h, Device *d, DeviceEvent ev, DeviceState old_state);

/* The engine's state changed: leaks held back while it was not running are
 * looked at again. */
void leak_handler_engine_changed(LeakHandler *h);

/* On an operator's request (the bus): run action against d's holders now,
 * or remove d now. Negative errno, with error set to an
 * org.dmwarden1.Error.* name where one says why. */
int leak_handler_reap(LeakHandler *h, Device *d, ReapAction action, sd_bus_error *error);
int leak_handler_remove(LeakHandler *h, Device *d, sd_bus_error *error);
