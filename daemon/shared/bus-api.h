/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwarden's D-Bus interface as it appears on the wire: the bus name, the
 * manager's and the devices' object paths, and the interface names. What
 * dmwardend serves and dmwardenctl calls; the error names are in
 * bus-error.h beside this. */

#define BUS_NAME "org.dmwarden1"
#define BUS_MANAGER_PATH "/org/dmwarden1"
#define BUS_DEVICE_PATH_PREFIX "/org/dmwarden1/device"
#define BUS_MANAGER_INTERFACE "org.dmwarden1.Manager"
#define BUS_DEVICE_INTERFACE "org.dmwarden1.Device"

/* The manager's Pools property, one struct per thin pool: name, data used
 * and total, metadata used and total, and the bytes leaked devices hold
 * in it (all bytes). */
#define BUS_POOL_FIELDS "sttttt"
#define BUS_POOL "(" BUS_POOL_FIELDS ")"
