/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder until leak handling lands: the bus methods are there and
 * authorized, the actions say plainly that they do not exist yet. */
#include <errno.h>

#include "bus-error.h"
#include "device-actions.h"

int device_watch_reap(DeviceWatch *w, Device *d, ReapAction action, sd_bus_error *error) {
        sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                          "Reaping holders (%s) lands with leak handling; this dmwardend only reports.",
                          reap_action_to_string(action));
        return -EOPNOTSUPP;
}

int device_watch_remove(DeviceWatch *w, Device *d, sd_bus_error *error) {
        sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED,
                         "Removing devices lands with leak handling; this dmwardend only reports.");
        return -EOPNOTSUPP;
}
