/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwardend on the system bus (or $DBUS_SYSTEM_BUS_ADDRESS): the name
 * org.dmwarden1, the manager object /org/dmwarden1 (with the
 * ObjectManager), one object per watched device, and the signals. */

#include "shared/bus-api.h"
#include "watch/device-watch.h"

typedef struct Manager Manager;

/* Connects, registers the objects and requests the name. */
int bus_start(Manager *m);
void bus_stop(Manager *m);

/* From the device watch: InterfacesAdded / PropertiesChanged /
 * InterfacesRemoved for the device, and the manager's counters. */
void bus_device_changed(Manager *m, Device *d, DeviceEvent ev, DeviceState old_state);
/* From leak handling: HolderReaped for one holder of d (action "detach",
 * result "ok" or what went wrong), and the HoldersReaped counter. */
void bus_holder_reaped(Manager *m, Device *d, const HolderRecord *h, const char *action, const char *result);
/* A manager property changed (EngineState, EnginePID, ...); NULL-terminated. */
void bus_manager_changed(Manager *m, const char *property, ...) _sentinel_;

