/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leak handling: what happens when a watched device turns leaked. It
 * alerts (rate-limited per device), runs [Policy] Action= against the
 * holders, least harmful first (detach, then restart-unit or kill if
 * allowed), looks again, and ends in released or stuck; a released device
 * is removed as Remove= says. Owned by the Manager, fed by the watch. */

#include <systemd/sd-bus.h>

#include "basic/macro.h"
#include "watch/device-watch.h"

typedef struct Manager Manager;
typedef struct LeakHandler LeakHandler;

int leak_handler_new(Manager *m, LeakHandler **ret);
LeakHandler *leak_handler_free(LeakHandler *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(LeakHandler *, leak_handler_free);

/* Every change the watch reports (the manager forwards them). */
void leak_handler_device_changed(LeakHandler *h, Device *d, DeviceEvent ev, DeviceState old_state);

/* The engine's state changed: leaks held back while it was not running are
 * looked at again. */
void leak_handler_engine_changed(LeakHandler *h);

/* On an operator's request (the bus): run action against d's holders now,
 * or remove d now. Negative errno with error set. */
int leak_handler_reap(LeakHandler *h, Device *d, ReapAction action, sd_bus_error *error);
int leak_handler_remove(LeakHandler *h, Device *d, sd_bus_error *error);
