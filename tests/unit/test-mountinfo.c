/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "holders/mount-table.h"
#include "holders/mountinfo.h"
#include "test-util.h"

static void parse_fixture(const char *name, dev_t dev, MountTable *t) {
        _cleanup_free_ char *buf = NULL;
        char path[PATH_MAX];
        size_t size;

        test_data_path(path, sizeof(path), "holders", name);
        cr_assert_eq(read_full_at(AT_FDCWD, path, 1 << 20, &buf, &size), 0, "cannot read %s", path);
        cr_assert_eq(mount_table_parse_mountinfo(buf, size, dev, t), 0);
}

Test(mountinfo, keeps_the_device_and_mount_namespace_pins) {
        MountTable t = {};

        parse_fixture("mountinfo-mixed", makedev(253, 7), &t);
        cr_assert_eq(t.n_entries, 4, "got %zu entries", t.n_entries);

        cr_assert_eq(t.entries[0].id, 40);
        cr_assert_eq(t.entries[0].dev, makedev(253, 7));
        cr_assert_str_eq(t.entries[0].root, "/");
        cr_assert_str_eq(t.entries[0].mount_point, "/var/lib/docker/devicemapper/mnt/abc def");
        cr_assert_str_eq(t.entries[0].fstype, "xfs");
        cr_assert_str_eq(t.entries[0].source, "/dev/mapper/docker-thin-abc");
        cr_assert_eq(t.entries[0].pinned_mntns, 0);

        /* A bind of a subdirectory, no optional fields, every escape. */
        cr_assert_str_eq(t.entries[1].root, "/rootfs/etc");
        cr_assert_str_eq(t.entries[1].mount_point, "/srv/tab\tand\nnewline\\back");

        cr_assert_eq(t.entries[2].pinned_mntns, 4026532400);
        cr_assert_str_eq(t.entries[2].mount_point, "/run/snapd/ns/lxd.mnt");
        cr_assert_str_eq(t.entries[2].fstype, "nsfs");

        cr_assert_eq(t.entries[3].id, 46);
        cr_assert_str_eq(t.entries[3].fstype, "ext4");
        mount_table_done(&t);
}

Test(mountinfo, other_devices_only_leave_pins) {
        MountTable t = {};

        parse_fixture("mountinfo-mixed", makedev(1, 1), &t);
        cr_assert_eq(t.n_entries, 1);
        cr_assert_eq(t.entries[0].pinned_mntns, 4026532400);
        mount_table_done(&t);
}

Test(mountinfo, edge_cases) {
        static const char truncated[] = "40 22 253:7 / /a rw - xfs /dev/x rw"; /* no newline at the end */
        static const char bad_escape[] = "40 22 253:7 / /a\\9x\\04 rw - xfs /dev/x rw\n";
        MountTable t = {};

        cr_assert_eq(mount_table_parse_mountinfo("", 0, makedev(253, 7), &t), 0);
        cr_assert_eq(t.n_entries, 0);

        cr_assert_eq(mount_table_parse_mountinfo(truncated, strlen(truncated), makedev(253, 7), &t), 0);
        cr_assert_eq(t.n_entries, 1);
        cr_assert_str_eq(t.entries[0].mount_point, "/a");
        mount_table_done(&t);

        /* Not a valid octal escape: kept as written. */
        cr_assert_eq(mount_table_parse_mountinfo(bad_escape, strlen(bad_escape), makedev(253, 7), &t), 0);
        cr_assert_eq(t.n_entries, 1);
        cr_assert_str_eq(t.entries[0].mount_point, "/a\\9x\\04");
        mount_table_done(&t);
}

Test(mountinfo, nsfs_names) {
        uint64_t ino = 0;

        cr_assert_eq(nsfs_name_parse("mnt:[4026531840]", "mnt", &ino), 0);
        cr_assert_eq(ino, 4026531840);
        cr_assert_eq(nsfs_name_parse("net:[4026531840]", "mnt", &ino), -EINVAL);
        cr_assert_eq(nsfs_name_parse("mnt:[]", "mnt", &ino), -EINVAL);
        cr_assert_eq(nsfs_name_parse("mnt:[12", "mnt", &ino), -EINVAL);
        cr_assert_eq(nsfs_name_parse("mnt:[12]x", "mnt", &ino), -EINVAL);
        cr_assert_eq(nsfs_name_parse("mnt:[-1]", "mnt", &ino), -EINVAL);
        cr_assert_eq(nsfs_name_parse("/proc/1/ns/mnt", "mnt", &ino), -EINVAL);
}

Test(mountinfo, source_names) {
        for (MountSource s = 0; s < _MOUNT_SOURCE_MAX; s++)
                cr_assert_eq(mount_source_from_string(mount_source_to_string(s)), s);
        cr_assert_eq(mount_source_from_string("procfs"), -EINVAL);
}
