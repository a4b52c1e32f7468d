/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basic/escape.h"
#include "basic/utf8.h"
#include "shared/bus-error.h"

/* The first entry for an errno is the name the daemon sends for it. The
 * less common errnos (EMEDIUMTYPE, EBADRQC) stand for states no system call
 * of ours reports, so a failure is never sent under their names. */
const sd_bus_error_map bus_error_map[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_NAME, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_ACTION, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(BUS_ERROR_PROTECTED, EPERM),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_WATCHED, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_LEAKED, EBADRQC),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_CONFIGURATION, ENOEXEC),
        SD_BUS_ERROR_MAP(BUS_ERROR_SCAN_TIMED_OUT, ETIMEDOUT),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_register(void) {
        return sd_bus_error_add_map(bus_error_map);
}

/* EINVAL stays sd-bus's InvalidArgs: it is too general to mean a name or an
 * action, and the callers that mean those say so with their own names. */
static const char *bus_error_name_for(int r) {
        if (r == -EINVAL)
                return NULL;
        for (const sd_bus_error_map *e = bus_error_map; e->name; e++)
                if (e->code == -r)
                        return e->name;
        return NULL;
}

int bus_error_set_errnof(sd_bus_error *error, int r, const char *format, ...) {
        const char *name = bus_error_name_for(r);
        char message[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        if (name)
                (void) sd_bus_error_set(error, name, message);
        else
                (void) sd_bus_error_set_errnof(error, r, "%s", message);
        return r;
}

int bus_error_make_sendable(sd_bus_error *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error copy = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *message = NULL;

        if (!sd_bus_error_is_set(e) || !e->message || !utf8_find_invalid(e->message, strlen(e->message)))
                return 0;
        message = cescape(e->message);
        if (!message)
                return -ENOMEM;
        (void) sd_bus_error_set(&copy, e->name, message);
        sd_bus_error_free(e);
        (void) sd_bus_error_move(e, &copy);
        return 0;
}
