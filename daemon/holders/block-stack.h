/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Block devices built on top of another one: the holders sysfs lists
 * (device-mapper, md) and loop devices whose backing file lives on its
 * filesystem (found by device number through LOOP_GET_STATUS64). */

#include <stddef.h>
#include <sys/types.h>

#include "holders/holder-scan.h"
#include "holders/stall-guard.h"

/* Appends to *stacked with array_append(), so *stacked is NULL or grown by
 * it alone. sys_root is "/sys" or a fixture; dev_root is where loop device
 * nodes are opened ("/dev"), NULL to skip the loop check. A loop device
 * whose status guard says is stalled is skipped and counted in *n_skipped
 * (guard NULL: none is). */
int block_stack_find(const char *sys_root, const char *dev_root, dev_t dev, StallGuard *guard,
                     StackedHolder **stacked, size_t *n_stacked, unsigned *n_skipped);

void stacked_holder_done(StackedHolder *h);
