/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus's Reap and Remove, handed to leak handling. */
#include <errno.h>

#include "reap/device-actions.h"
#include "reap/leak-handler.h"

#define ERROR_NOT_SUPPORTED "org.dmwarden1.Error.NotSupported"

int device_watch_reap(DeviceWatch *w, Device *d, ReapAction action, sd_bus_error *error) {
        LeakHandler *h = device_watch_leak_handler(w);

        if (!h)
                return sd_bus_error_set(error, ERROR_NOT_SUPPORTED, "Leak handling is not running.");
        if (action < 0 || action >= _REAP_ACTION_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown action %d.", (int) action);
        return leak_handler_reap(h, d, action, error);
}

int device_watch_remove(DeviceWatch *w, Device *d, sd_bus_error *error) {
        LeakHandler *h = device_watch_leak_handler(w);

        if (!h)
                return sd_bus_error_set(error, ERROR_NOT_SUPPORTED, "Leak handling is not running.");
        return leak_handler_remove(h, d, error);
}
