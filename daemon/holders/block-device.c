/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libdevmapper.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/block-device.h"

static int resolve_path(const char *path, dev_t *ret) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        *ret = st.st_rdev;
        return 0;
}

#define DIGITS "0123456789"

int block_device_parse_number(const char *s, dev_t *ret) {
        size_t n_major = strspn(s, DIGITS), n_minor;
        unsigned long maj, min;

        if (n_major == 0 || s[n_major] != ':')
                return 0;
        n_minor = strspn(s + n_major + 1, DIGITS);
        if (n_minor == 0 || s[n_major + 1 + n_minor] != '\0')
                return -EINVAL;
        /* Digits only, so strtoul() can fail only by overflowing; the
         * kernel's numbers are 12 and 20 bits wide. */
        errno = 0;
        maj = strtoul(s, NULL, 10);
        min = strtoul(s + n_major + 1, NULL, 10);
        if (errno != 0 || maj > BLOCK_DEVICE_MAJOR_MAX || min > BLOCK_DEVICE_MINOR_MAX)
                return -EINVAL;
        *ret = makedev(maj, min);
        return 1;
}

int block_device_resolve(const char *arg, dev_t *ret) {
        static const char *const dirs[] = { "/dev/mapper", "/dev" };
        char path[PATH_MAX];
        dev_t dev;
        int r;

        r = block_device_parse_number(arg, &dev);
        if (r < 0)
                return r;
        if (r > 0) {
                (void) snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev), minor(dev));
                if (access(path, F_OK) < 0)
                        return -ENOENT;
                *ret = dev;
                return 0;
        }

        r = resolve_path(arg, ret);
        if (r != -ENOENT || strchr(arg, '/'))
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                (void) snprintf(path, sizeof(path), "%s/%s", dirs[i], arg);
                r = resolve_path(path, ret);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct dm_task *, dm_task_destroy);

int dm_open_count(dev_t dev, unsigned *ret) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        struct dm_info info;
        char path[64];

        /* Only device-mapper devices have this directory; asking the
         * library about others would have it log errors. */
        (void) snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm", major(dev), minor(dev));
        if (access(path, F_OK) < 0)
                return -ENOTTY;

        dmt = dm_task_create(DM_DEVICE_INFO);
        if (!dmt)
                return -ENOMEM;
        if (!dm_task_set_major(dmt, (int) major(dev)) || !dm_task_set_minor(dmt, (int) minor(dev)))
                return -EINVAL;
        if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info))
                return -EIO;
        if (!info.exists)
                return -ENODEV;
        *ret = (unsigned) info.open_count;
        return 0;
}
