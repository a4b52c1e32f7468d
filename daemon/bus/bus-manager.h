/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.dmwarden1.Manager interface at /org/dmwarden1: the daemon's
 * state as properties, the methods operators call, and the signals. */

#include <systemd/sd-bus.h>

extern const sd_bus_vtable bus_manager_vtable[];
