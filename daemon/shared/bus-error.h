/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwarden's named D-Bus errors, org.dmwarden1.Error.*, and the map that
 * ties each to an errno both ways: clients get a meaningful errno from a
 * name, the daemon a meaningful name from an errno. */

#include <systemd/sd-bus.h>

#include "basic/macro.h"

#define BUS_ERROR_NO_SUCH_DEVICE        "org.dmwarden1.Error.NoSuchDevice"
#define BUS_ERROR_INVALID_NAME          "org.dmwarden1.Error.InvalidName"
#define BUS_ERROR_INVALID_ACTION        "org.dmwarden1.Error.InvalidAction"
#define BUS_ERROR_NOT_SUPPORTED         "org.dmwarden1.Error.NotSupported"
#define BUS_ERROR_BUSY                  "org.dmwarden1.Error.Busy"
#define BUS_ERROR_PROTECTED             "org.dmwarden1.Error.Protected"
#define BUS_ERROR_NOT_WATCHED           "org.dmwarden1.Error.NotWatched"
#define BUS_ERROR_NOT_LEAKED            "org.dmwarden1.Error.NotLeaked"
#define BUS_ERROR_INVALID_CONFIGURATION "org.dmwarden1.Error.InvalidConfiguration"
#define BUS_ERROR_SCAN_TIMED_OUT        "org.dmwarden1.Error.ScanTimedOut"

extern const sd_bus_error_map bus_error_map[];

/* Makes the names above known to sd-bus in this process (idempotent). */
int bus_error_register(void);

/* Sets error from a negative errno: dmwarden's name for it if it has one,
 * else sd-bus's. Returns r. */
int bus_error_set_errnof(sd_bus_error *error, int r, const char *format, ...) _printf_(3, 4);

/* D-Bus carries UTF-8 only, and a message that cannot be sent leaves the
 * caller waiting: escapes what in e's message is not (a device name, a
 * path). Returns 0 or -ENOMEM. */
int bus_error_make_sendable(sd_bus_error *e);
