/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Naming a block device on the command line, and asking device-mapper how
 * many times it is open. */

#include <sys/types.h>

#define BLOCK_DEVICE_MAJOR_MAX 4095u
#define BLOCK_DEVICE_MINOR_MAX 1048575u

/* MAJOR:MINOR, two decimal numbers within the kernel's ranges. Returns 1
 * with *ret set; 0 if s does not start like one (digits, then a colon), so
 * is a name or path; -EINVAL if it does but is not one ("7:0x", "7:"). */
int block_device_parse_number(const char *s, dev_t *ret);

/* arg is a block device node (/dev/dm-3, /dev/mapper/NAME), a bare name
 * looked up in /dev/mapper then /dev, or MAJOR:MINOR. -ENOENT if nothing by
 * that name exists, -ENOTBLK if it is not a block device, -EINVAL if it
 * starts like MAJOR:MINOR but is not one. */
int block_device_resolve(const char *arg, dev_t *ret);

/* The kernel's open count of a device-mapper device; -ENOTTY if dev is not
 * one (then nobody counts its openers). */
int dm_open_count(dev_t dev, unsigned *ret);
