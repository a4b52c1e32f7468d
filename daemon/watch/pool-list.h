/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The thin pools device-mapper has, with their space as last read: what
 * the watch keeps of devices it does not watch, so the pools behind the
 * watched thin devices can be told about. Sorted by name. */

#include <stddef.h>

#include "watch/device.h"

typedef struct PoolList {
        DeviceInfo *pools;
        size_t n_pools;
} PoolList;

void pool_list_done(PoolList *l);
/* Keeps a copy of info if it is a thin pool (replacing the one by its
 * name), else drops any pool by its name (its table changed); 0 or -ENOMEM. */
int pool_list_update(PoolList *l, const DeviceInfo *info);
void pool_list_drop(PoolList *l, const char *name);
const DeviceInfo *pool_list_find(const PoolList *l, const char *name);
