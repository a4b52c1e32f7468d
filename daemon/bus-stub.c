/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder until the bus layer lands: the daemon runs without D-Bus. */
#include <errno.h>

#include "bus.h"
#include "manager.h"

int bus_start(Manager *m) {
        (void) m;
        return -EOPNOTSUPP;
}

void bus_stop(Manager *m) {
        (void) m;
}

void bus_device_changed(Manager *m, Device *d, DeviceEvent ev, DeviceState old_state) {
        (void) m;
        (void) d;
        (void) ev;
        (void) old_state;
}

void bus_holder_reaped(Manager *m, Device *d, const HolderRecord *h, const char *action, const char *result) {
        (void) m;
        (void) d;
        (void) h;
        (void) action;
        (void) result;
}

void bus_manager_changed(Manager *m, const char *property, ...) {
        (void) m;
        (void) property;
}
