/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/strv.h"
#include "bus/bus-device.h"
#include "bus/bus.h"
#include "shared/bus-error.h"
#include "shared/bus-names.h"
#include "watch/device-watch.h"

const char *bus_device_object_path(Device *d) {
        if (!d->object_path)
                (void) bus_device_path(d->info.name, &d->object_path);
        return d->object_path;
}

int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                    sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Bus *b = ASSERT_PTR(userdata);
        Device *d;

        if (!b->watch || bus_device_name_from_path(path, &name) < 0)
                return 0;
        d = device_watch_get(b->watch, name);
        if (!d)
                return 0;
        *ret_found = d;
        return 1;
}

int bus_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **nodes = NULL;
        Bus *b = ASSERT_PTR(userdata);
        Device **devices;
        size_t n = 0;
        int r;

        devices = b->watch ? device_watch_devices(b->watch, &n) : NULL;
        for (size_t i = 0; i < n; i++) {
                const char *p = bus_device_object_path(devices[i]);

                if (!p)
                        continue;
                r = strv_extend(&nodes, p);
                if (r < 0)
                        return r;
        }
        *ret_nodes = TAKE_PTR(nodes);
        return 0;
}

int bus_lookup_device(Bus *b, const char *name, Device **ret, sd_bus_error *error) {
        Device *d = NULL, **devices;
        size_t n = 0;
        int r;

        r = bus_check_device_name(name, error);
        if (r < 0)
                return r;
        if (b->watch)
                d = device_watch_get(b->watch, name);
        /* A name that is not UTF-8 reaches callers escaped (see bus-names.h). */
        devices = !d && b->watch ? device_watch_devices(b->watch, &n) : NULL;
        for (size_t i = 0; i < n && !d; i++)
                if (bus_string_names_device(name, devices[i]->info.name))
                        d = devices[i];
        if (!d) {
                sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE, "No watched device is called \"%s\".", name);
                return -ENODEV;
        }
        *ret = d;
        return 0;
}

int bus_message_append_holder(sd_bus_message *m, const HolderRecord *h, const HolderViewer *viewer) {
        static const HolderViewer anyone = HOLDER_VIEWER_ANYONE;
        bool visible = holder_path_visible(viewer ?: &anyone, AT_FDCWD, h);
        int r;

        r = sd_bus_message_open_container(m, 'r', "ussttbsst");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "u", (uint32_t) h->pid);
        if (r >= 0)
                r = bus_message_append_kernel_string(m, h->comm);
        if (r >= 0)
                r = bus_message_append_kernel_string(m, h->unit);
        if (r >= 0)
                r = sd_bus_message_append(m, "ttb", h->mntns, h->mount_id, (int) h->root_member);
        if (r >= 0)
                r = bus_message_append_kernel_string(m, h->kind);
        if (r >= 0)
                r = bus_message_append_kernel_string(m, visible ? h->path : "");
        if (r >= 0)
                r = sd_bus_message_append(m, "t", h->tid);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int bus_message_append_holders(sd_bus_message *m, const HolderRecords *records, const HolderViewer *viewer) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ussttbsst)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < records->n_rows; i++) {
                r = bus_message_append_holder(m, &records->rows[i], viewer);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* Getters: userdata is the Device plus the property's offset. */

static int property_get_kernel_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return bus_message_append_kernel_string(reply, *(char **) userdata);
}

static int property_get_major(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Device *d = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "u", (uint32_t) major(d->info.dev));
}

static int property_get_minor(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Device *d = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "u", (uint32_t) minor(d->info.dev));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Device *d = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "s", device_state_to_string(d->state));
}

static int property_get_holders(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Device *d = ASSERT_PTR(userdata);
        /* The request being answered; none when a change is signalled. */
        HolderViewer viewer = holder_viewer_of_message(sd_bus_get_current_message(bus));

        return bus_message_append_holders(reply, &d->holders, &viewer);
}

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

/* Only the name and the device number never change for a device object: a
 * renamed device is another object, a new number another device. */
const sd_bus_vtable bus_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_kernel_string, offsetof(Device, info.name),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UUID", "s", property_get_kernel_string, offsetof(Device, info.uuid), CHANGES),
        SD_BUS_PROPERTY("Major", "u", property_get_major, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Minor", "u", property_get_minor, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Target", "s", property_get_kernel_string, offsetof(Device, info.target), CHANGES),
        SD_BUS_PROPERTY("Pool", "s", property_get_kernel_string, offsetof(Device, info.pool), CHANGES),
        /* 4294967295: nobody counts (the test source). */
        SD_BUS_PROPERTY("OpenCount", "u", NULL, offsetof(Device, info.open_count), CHANGES),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, CHANGES),
        SD_BUS_PROPERTY("Holders", "a(ussttbsst)", property_get_holders, 0, CHANGES),
        SD_BUS_PROPERTY("LeakedSinceUSec", "t", NULL, offsetof(Device, leaked_since_usec), CHANGES),
        SD_BUS_PROPERTY("StateSinceUSec", "t", NULL, offsetof(Device, state_since_usec), CHANGES),
        /* Rescans that change nothing are not announced. */
        SD_BUS_PROPERTY("LastScanUSec", "t", NULL, offsetof(Device, last_scan_usec), 0),
        /* As of the last query or space refresh ([Pool] RefreshSec=); every
         * write moves it, so it does not signal. UINT64_MAX: unknown. */
        SD_BUS_PROPERTY("MappedBytes", "t", NULL, offsetof(Device, info.mapped_bytes), 0),
        SD_BUS_PROPERTY("LastAction", "s", property_get_kernel_string, offsetof(Device, last_action), CHANGES),
        SD_BUS_VTABLE_END,
};
