/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "basic/log.h"
#include "bus/bus-device.h"
#include "bus/bus-manager.h"
#include "bus/bus.h"
#include "shared/bus-error.h"
#include "shared/bus-names.h"

int bus_new(const Bus *template, Bus **ret) {
        Bus *b = malloc(sizeof(*b));

        if (!b)
                return -ENOMEM;
        *b = *template;
        b->bus = NULL;
        b->polkit_queries = NULL;
        *ret = b;
        return 0;
}

Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;
        /* Each holds its call, and the call the connection: first. */
        polkit_queries_free(&b->polkit_queries);
        sd_bus_flush_close_unref(b->bus);
        free(b);
        return NULL;
}

void bus_set_config(Bus *b, const Config *config) {
        b->config = config;
}

static int bus_register_objects(sd_bus *bus, Bus *b) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, bus_manager_vtable, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the manager object: %m");
        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_DEVICE_PATH_PREFIX, BUS_DEVICE_INTERFACE, bus_device_vtable,
                                       bus_device_find, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the device objects: %m");
        r = sd_bus_add_node_enumerator(bus, NULL, BUS_DEVICE_PATH_PREFIX, bus_device_enumerate, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the device enumerator: %m");
        r = sd_bus_add_object_manager(bus, NULL, BUS_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the object manager: %m");
        return 0;
}

int bus_start(Bus *b) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_error_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register the D-Bus error names: %m");

        /* Without a system bus the daemon still does its main job (the
         * engine's namespace, the journal); it says so and goes on. */
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_warning_errno(r, "Failed to connect to the system bus, the D-Bus API is off: %m");
                return 0;
        }
        (void) sd_bus_set_description(bus, "dmwarden-api");
        /* bus_free() closes it, after denying the calls still waiting for
         * polkit: closed at the loop's exit, they could not be answered. */
        r = sd_bus_set_close_on_exit(bus, false);
        if (r < 0)
                return log_error_errno(r, "Failed to configure the bus connection: %m");

        r = bus_register_objects(bus, b);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* Synchronously, so READY=1 (which follows) means callers find us. */
        r = sd_bus_request_name(bus, BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "Another process owns %s already; is dmwardend running twice?", BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name %s: %m", BUS_NAME);

        log_debug("Acquired %s on the system bus.", BUS_NAME);
        b->bus = TAKE_PTR(bus);
        return 0;
}

static void emit_changed_strv(Bus *b, const char *path, const char *interface, char **names) {
        int r;

        r = sd_bus_emit_properties_changed_strv(b->bus, path, interface, names);
        if (r < 0)
                log_debug_errno(r, "Failed to announce changed properties of %s: %m", path);
}

void bus_manager_changed(Bus *b, const char *property, ...) {
        const char *names[32];
        size_t n = 0;
        va_list ap;

        if (!b || !b->bus)
                return;
        va_start(ap, property);
        for (const char *p = property; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = p;
        va_end(ap);
        names[n] = NULL;
        emit_changed_strv(b, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, (char **) names);
}

/* The signals all start with the device's name and path. */
static int new_device_signal(Bus *b, Device *d, const char *member, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        r = sd_bus_message_new_signal(b->bus, &s, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, member);
        if (r < 0)
                return r;
        r = bus_message_append_kernel_string(s, d->info.name);
        if (r < 0)
                return r;
        r = sd_bus_message_append(s, "o", bus_device_object_path(d));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static void emit_device_signal(Bus *b, Device *d, const char *member) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        r = new_device_signal(b, d, member, &s);
        if (r >= 0 && streq(member, "LeakDetected"))
                r = bus_message_append_holders(s, &d->holders, NULL);
        if (r >= 0)
                r = sd_bus_send(b->bus, s, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to send %s for %s: %m", member, d->object_path);
}

void bus_holder_reaped(Bus *b, Device *d, const HolderRecord *h, const char *action, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        if (!b || !b->bus || !bus_device_object_path(d))
                return;
        r = new_device_signal(b, d, "HolderReaped", &s);
        if (r >= 0)
                r = bus_message_append_holder(s, h, NULL);
        if (r >= 0)
                r = sd_bus_message_append(s, "s", action);
        if (r >= 0)
                r = bus_message_append_kernel_string(s, result);
        if (r >= 0)
                r = sd_bus_send(b->bus, s, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to send HolderReaped for %s: %m", d->object_path);
        bus_manager_changed(b, "HoldersReaped", NULL);
}

static void announce_device(Bus *b, Device *d, DeviceEvent ev) {
        const char *path = d->object_path;
        int r;

        switch (ev) {
        case DEVICE_EVENT_ADDED:
                r = sd_bus_emit_interfaces_added(b->bus, path, BUS_DEVICE_INTERFACE, NULL);
                break;
        case DEVICE_EVENT_REMOVED:
        case DEVICE_EVENT_UNWATCHED:
                /* Named explicitly: d may already be out of the watch's set,
                 * and sd-bus would only list interfaces it still finds. */
                r = sd_bus_emit_interfaces_removed(b->bus, path, BUS_DEVICE_INTERFACE, NULL);
                break;
        default:
                /* NULL: every property marked as emitting changes. */
                r = sd_bus_emit_properties_changed_strv(b->bus, path, BUS_DEVICE_INTERFACE, NULL);
                break;
        }
        if (r < 0)
                log_warning_errno(r, "Failed to announce the change of %s: %m", path);
}

void bus_device_changed(Bus *b, Device *d, DeviceEvent ev, DeviceState old_state) {
        bool entered;

        if (!b || !b->bus)
                return;
        if (!bus_device_object_path(d)) {
                log_warning("Device \"%s\" cannot have an object path, not on the bus.", d->info.name);
                return;
        }

        announce_device(b, d, ev);

        entered = device_event_entered_state(ev, d, old_state);
        if (ev == DEVICE_EVENT_REMOVED)
                emit_device_signal(b, d, "DeviceRemoved");
        else if (entered && d->state == DEVICE_LEAKED)
                emit_device_signal(b, d, "LeakDetected");
        else if (entered && d->state == DEVICE_RELEASED)
                emit_device_signal(b, d, "DeviceReleased");

        if (ev != DEVICE_EVENT_CHANGED)
                bus_manager_changed(b, "WatchedDevices", "LeakedDevices", "DevicesRemoved", NULL);
        else if (device_state_is_leak(old_state) != device_state_is_leak(d->state))
                bus_manager_changed(b, "LeakedDevices", NULL);
}
