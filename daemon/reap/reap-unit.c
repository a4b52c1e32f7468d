/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "reap/reap-unit.h"

struct ReapUnitCall {
        sd_bus *bus;            /* our own connection: the daemon's may not exist */
        sd_bus_slot *slot;
        ReapUnitDone done;
        void *userdata;
};

ReapUnitCall *reap_unit_call_free(ReapUnitCall *c) {
        if (!c)
                return NULL;
        sd_bus_slot_unref(c->slot);
        sd_bus_flush_close_unref(c->bus);
        free(c);
        return NULL;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        ReapUnitCall *c = ASSERT_PTR(userdata);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        char message[512];
        int r = 0;

        (void) ret_error;
        if (e) {
                r = -sd_bus_message_get_errno(reply);
                if (r == 0)
                        r = -EIO;
                /* Nobody owns the name, or the bus tried to start someone
                 * for it and failed (a D-Bus without systemd). */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
                    strncmp(e->name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0)
                        (void) snprintf(message, sizeof(message),
                                        "systemd is not on the system bus (%s); restart-unit needs systemd as the "
                                        "service manager", e->message ?: e->name);
                else
                        (void) snprintf(message, sizeof(message), "systemd refused: %s (%s)",
                                        e->message ?: strerror(-r), e->name);
        } else
                (void) snprintf(message, sizeof(message), "restart queued");
        c->slot = sd_bus_slot_unref(c->slot);
        c->done(r, message, c->userdata);
        return 0;
}

static int fail(int r, const char *why, char **ret_message) {
        if (asprintf(ret_message, "cannot reach systemd on the system bus (%s: %s); restart-unit needs systemd "
                     "as the service manager", why, strerror(-r)) < 0)
                *ret_message = NULL;
        return r;
}

int reap_unit_restart(sd_event *event, const char *unit, ReapUnitDone done, void *userdata, ReapUnitCall **ret,
                      char **ret_message) {
        _cleanup_(reap_unit_call_freep) ReapUnitCall *c = NULL;
        int r;

        *ret_message = NULL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->done = done;
        c->userdata = userdata;
        r = sd_bus_open_system(&c->bus);
        if (r < 0)
                return fail(r, "connect", ret_message);
        r = sd_bus_attach_event(c->bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return fail(r, "attach", ret_message);
        r = sd_bus_call_method_async(c->bus, &c->slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "RestartUnit", on_reply, c, "ss", unit,
                                     "replace");
        if (r < 0)
                return fail(r, "RestartUnit", ret_message);
        *ret = TAKE_PTR(c);
        return 0;
}
