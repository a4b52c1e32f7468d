/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "watch/pool-list.h"

void pool_list_done(PoolList *l) {
        for (size_t i = 0; i < l->n_pools; i++)
                device_info_done(&l->pools[i]);
        free(l->pools);
        *l = (PoolList) {};
}

/* The index of name, or where it would go (*ret_found false). */
static size_t pool_index(const PoolList *l, const char *name, bool *ret_found) {
        size_t lo = 0, hi = l->n_pools;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(l->pools[mid].name, name);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

void pool_list_drop(PoolList *l, const char *name) {
        bool found;
        size_t i = pool_index(l, name, &found);

        if (!found)
                return;
        device_info_done(&l->pools[i]);
        memmove(l->pools + i, l->pools + i + 1, (l->n_pools - i - 1) * sizeof(DeviceInfo));
        l->n_pools--;
}

int pool_list_update(PoolList *l, const DeviceInfo *info) {
        DeviceInfo copy, *grown;
        bool found;
        size_t i;
        int r;

        if (!streq_ptr(info->target, DEVICE_TARGET_THIN_POOL)) {
                pool_list_drop(l, info->name);
                return 0;
        }
        r = device_info_copy(info, &copy);
        if (r < 0)
                return r;
        i = pool_index(l, info->name, &found);
        if (found) {
                device_info_done(&l->pools[i]);
                l->pools[i] = copy;
                return 0;
        }
        grown = realloc(l->pools, (l->n_pools + 1) * sizeof(DeviceInfo));
        if (!grown) {
                device_info_done(&copy);
                return -ENOMEM;
        }
        l->pools = grown;
        memmove(l->pools + i + 1, l->pools + i, (l->n_pools - i) * sizeof(DeviceInfo));
        l->pools[i] = copy;
        l->n_pools++;
        return 0;
}

const DeviceInfo *pool_list_find(const PoolList *l, const char *name) {
        bool found;
        size_t i = pool_index(l, name, &found);

        return found ? &l->pools[i] : NULL;
}
