/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.dmwarden1.Device objects: one per watched device under
 * /org/dmwarden1/device, found from the escaped path and enumerated for
 * introspection and the ObjectManager. */

#include <systemd/sd-bus.h>

#include "bus/bus-holders-view.h"

#include "basic/time-util.h" /* device.h needs usec_t */
#include "holders/holder-records.h"
#include "watch/device.h"

typedef struct Bus Bus;

extern const sd_bus_vtable bus_device_vtable[];

/* The device's object path, made once and kept in d; NULL on ENOMEM or if
 * the name cannot be one (empty, too long). */
const char *bus_device_object_path(Device *d);

/* Fallback find and node enumerator for BUS_DEVICE_PATH_PREFIX; userdata
 * is the Bus. */
int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                    sd_bus_error *error);
int bus_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error);

/* The device a caller named (its name, or the name as the bus shows it);
 * sets BUS_ERROR_INVALID_NAME or BUS_ERROR_NO_SUCH_DEVICE and returns
 * negative errno if there is none. */
int bus_lookup_device(Bus *b, const char *name, Device **ret, sd_bus_error *error);

/* Holder records as D-Bus a(ussttbsst), one struct per row. */
/* Appends holders as viewer may see them (bus-holders-view.h); NULL: as
 * anyone may. */
int bus_message_append_holder(sd_bus_message *m, const HolderRecord *h, const HolderViewer *viewer);
int bus_message_append_holders(sd_bus_message *m, const HolderRecords *r, const HolderViewer *viewer);
