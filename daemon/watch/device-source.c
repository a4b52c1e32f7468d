/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "watch/device-source.h"

DeviceSource *device_source_free(DeviceSource *s) {
        if (s)
                s->ops->free(s);
        return NULL;
}

void device_infos_free(DeviceInfo *infos, size_t n) {
        for (size_t i = 0; infos && i < n; i++)
                device_info_done(&infos[i]);
        free(infos);
}

int device_infos_append(DeviceInfo **infos, size_t *n, DeviceInfo *info) {
        DeviceInfo *grown = reallocarray(*infos, *n + 1, sizeof(DeviceInfo));

        if (!grown) {
                device_info_done(info);
                return -ENOMEM;
        }
        grown[(*n)++] = *info;
        *infos = grown;
        *info = (DeviceInfo) {};
        return 0;
}
