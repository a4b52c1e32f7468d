/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

Test(mountinfo, read_by_pid_below_a_proc_fd) {
        _cleanup_close_ int proc_fd = test_open_data_dir("holders", "proc");
        MountTable t = {};

        cr_assert_eq(mount_table_read_mountinfo(proc_fd, 200, makedev(253, 7), &t), 0);
        cr_assert_eq(t.n_entries, 2);
        cr_assert_eq(t.entries[0].id, 140);
        cr_assert_str_eq(t.entries[0].mount_point, "/var/lib/docker/devicemapper/mnt/abc def");
        cr_assert_eq(t.entries[1].pinned_mntns, 4026532400);
        mount_table_done(&t);
        cr_assert_eq(mount_table_read_mountinfo(proc_fd, 400, makedev(253, 7), &t), -ENOENT);
}

Test(mountinfo, next_line) {
        static const char text[] = "a b\n\nc\nlast";
        const char *p = text, *line;
        size_t n;

        cr_assert(mountinfo_next_line(&p, text + strlen(text), &line, &n));
        cr_assert_eq(n, 3);
        cr_assert_eq(memcmp(line, "a b", 3), 0);
        cr_assert(mountinfo_next_line(&p, text + strlen(text), &line, &n));
        cr_assert_eq(n, 0, "an empty line is a line");
        cr_assert(mountinfo_next_line(&p, text + strlen(text), &line, &n));
        cr_assert_eq(n, 1);
        cr_assert_eq(*line, 'c');
        cr_assert(mountinfo_next_line(&p, text + strlen(text), &line, &n), "the last line needs no newline");
        cr_assert_eq(n, 4);
        cr_assert_eq(memcmp(line, "last", 4), 0);
        cr_assert(!mountinfo_next_line(&p, text + strlen(text), &line, &n));

        p = "x\n";
        cr_assert(mountinfo_next_line(&p, p + 2, &line, &n));
        cr_assert(!mountinfo_next_line(&p, line + 2, &line, &n), "no empty line after the last newline");
        p = "";
        cr_assert(!mountinfo_next_line(&p, p, &line, &n));
}

static int head(const char *line, uint64_t *id, dev_t *dev) {
        return mountinfo_parse_head(line, strlen(line), id, dev);
}

Test(mountinfo, parse_head) {
        uint64_t id = 0;
        dev_t dev = 0;

        cr_assert_eq(head("40 22 253:7 / /a rw - xfs /dev/x rw", &id, &dev), 0);
        cr_assert_eq(id, 40);
        cr_assert_eq(dev, makedev(253, 7));
        cr_assert_eq(head("4294967295 1 4294967295:1048575 ", &id, &dev), 0, "a blank after the device is enough");
        cr_assert_eq(id, 4294967295u);
        cr_assert_eq(dev, makedev(4294967295u, 1048575));
        cr_assert_eq(mountinfo_parse_head("1 2 3:4 rest", 8, NULL, &dev), 0, "the id is optional");
        cr_assert_eq(dev, makedev(3, 4));

        cr_assert_eq(head("40 22 253:7", &id, &dev), -EBADMSG, "cut after the device");
        cr_assert_eq(mountinfo_parse_head("40 22 253:7 / /a", 11, &id, &dev), -EBADMSG,
                     "the line ends where size says");
        cr_assert_eq(head("40 22 253", &id, &dev), -EBADMSG);
        cr_assert_eq(head("", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40 22 x:y / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40 22 253:7x / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40 22 :7 / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40 22 253: / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40  22 253:7 / /", &id, &dev), -EBADMSG, "one blank between fields");
        cr_assert_eq(head(" 40 22 253:7 / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("+40 22 253:7 / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40 -1 253:7 / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("4294967296 22 253:7 / /", &id, &dev), -EBADMSG, "beyond 32 bits");
        cr_assert_eq(head("40 22 4294967296:0 / /", &id, &dev), -EBADMSG);
        cr_assert_eq(head("40 22 0:4294967296 / /", &id, &dev), -EBADMSG);
}

Test(mountinfo, skips_a_line_whose_head_is_not_the_kernels) {
        static const char text[] =
                "40 22 253:7x / /a rw - xfs /dev/x rw\n"
                "41 22 253:7 / /b rw - xfs /dev/x rw\n"
                "+42 22 253:7 / /c rw - xfs /dev/x rw\n";
        MountTable t = {};

        cr_assert_eq(mount_table_parse_mountinfo(text, strlen(text), makedev(253, 7), &t), 0);
        cr_assert_eq(t.n_entries, 1);
        cr_assert_eq(t.entries[0].id, 41);
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

/* What a hostile namespace can put in its table: any name (escaped by the
 * kernel), however long, optional fields we do not know, and text that
 * looks like the separator inside the options. */
Test(mountinfo, hostile_lines) {
        _cleanup_free_ char *text = NULL, *name = NULL;
        const size_t blanks = 100000;
        MountTable t = {};

        name = malloc(blanks * 4 + 1);
        cr_assert_not_null(name);
        for (size_t i = 0; i < blanks; i++)
                memcpy(name + i * 4, "\\040", 4);
        name[blanks * 4] = 0;
        cr_assert_gt(asprintf(&text,
                              "40 22 253:7 / /%s rw shared:1 unknown:7 propagate_from:2 - xfs /dev/x rw\n"
                              "41 22 8:1 / /b rw - ext4 /dev/sda rw,x - nsfs y\n"
                              "42 22 0:4 mnt:[77] /c\\040-\\040nsfs rw - nsfs nsfs rw\n"
                              "43 22 253:7 /a\\134b /d rw - xfs \\134\\040 rw",
                              name), 0);

        cr_assert_eq(mount_table_parse_mountinfo(text, strlen(text), makedev(253, 7), &t), 0);
        cr_assert_eq(t.n_entries, 3, "got %zu entries", t.n_entries);
        cr_assert_eq(strlen(t.entries[0].mount_point), blanks + 1);
        cr_assert_eq(strspn(t.entries[0].mount_point + 1, " "), blanks);
        cr_assert_str_eq(t.entries[0].source, "/dev/x");
        cr_assert_eq(t.entries[1].id, 42, "options that look like the separator are not an nsfs mount");
        cr_assert_eq(t.entries[1].pinned_mntns, 77);
        cr_assert_str_eq(t.entries[1].mount_point, "/c - nsfs");
        cr_assert_str_eq(t.entries[2].root, "/a\\b");
        cr_assert_str_eq(t.entries[2].source, "\\ ");
        mount_table_done(&t);
}
