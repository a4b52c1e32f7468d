/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Acting on a leaked device on an operator's request (the bus's Reap and
 * Remove): the entry points leak handling provides. */

#include <systemd/sd-bus.h>

#include "config/config.h"
#include "watch/device-watch.h"

/* Runs action against d's holders now. Negative errno with error set
 * (org.dmwarden1.Error.*) if it cannot. */
int device_watch_reap(DeviceWatch *w, Device *d, ReapAction action, sd_bus_error *error);
/* Deactivates d now if nothing holds it. Negative errno with error set. */
int device_watch_remove(DeviceWatch *w, Device *d, sd_bus_error *error);
