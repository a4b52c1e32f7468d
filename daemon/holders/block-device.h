/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Naming a block device on the command line, and asking device-mapper how
 * many times it is open. */

#include <sys/types.h>

/* arg is a block device node (/dev/dm-3, /dev/mapper/NAME), a bare name
 * looked up in /dev/mapper then /dev, or MAJOR:MINOR. -ENOENT if nothing by
 * that name exists, -ENOTBLK if it is not a block device. */
int block_device_resolve(const char *arg, dev_t *ret);

/* The kernel's open count of a device-mapper device; -ENOTTY if dev is not
 * one (then nobody counts its openers). */
int dm_open_count(dev_t dev, unsigned *ret);
