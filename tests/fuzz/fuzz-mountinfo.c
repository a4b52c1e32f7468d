/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Both mountinfo parsers on any text: the device set the engine's mounts
 * are followed by (mount-devices.c) and the per-device mount table of the
 * holder scan (mountinfo.c, which hands the lines it keeps to libmount).
 * Properties: the set is sorted and unique and knows its members; the table
 * keeps only mounts of the device asked for, or nsfs pins of mount
 * namespaces (every mount for MOUNT_DEV_ANY), every field filled in. */
#include <errno.h>
#include <sys/sysmacros.h>

#include "fuzz.h"
#include "holders/mount-devices.h"
#include "holders/mount-table.h"
#include "holders/mountinfo.h"

static void check_table(const uint8_t *data, size_t size, dev_t dev) {
        _cleanup_(mount_table_done) MountTable t = {};
        int r;

        r = mount_table_parse_mountinfo((const char *) data, size, dev, &t);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0);
        for (size_t i = 0; i < t.n_entries; i++) {
                const MountEntry *e = &t.entries[i];

                fuzz_check(e->root && e->mount_point && e->fstype && e->source);
                /* MOUNT_DEV_ANY (0:0, which the kernel gives no mount)
                 * asks for every mount: a text may name 0:0. */
                fuzz_check(dev == MOUNT_DEV_ANY || e->dev == dev || strcmp(e->fstype, "nsfs") == 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(dev_set_done) DevSet set = {};
        _cleanup_free_ char *text = fuzz_string(data, size);
        int r;

        if (!text)
                return 0;
        r = mountinfo_parse_devices(text, &set);
        if (r == -ENOMEM)
                return 0;
        fuzz_check(r == 0 || r == -EBADMSG);
        if (r < 0) {
                check_table(data, size, makedev(253, 0));
                return 0;
        }
        for (size_t i = 0; i < set.n; i++) {
                fuzz_check(i == 0 || set.devs[i - 1] < set.devs[i]);
                fuzz_check(dev_set_contains(&set, set.devs[i]));
        }
        /* The table of a few devices the text names, and of one it does not. */
        for (size_t i = 0; i < set.n && i < 3; i++)
                check_table(data, size, set.devs[i]);
        if (!dev_set_contains(&set, makedev(7, 0)))
                check_table(data, size, makedev(7, 0));
        return 0;
}
