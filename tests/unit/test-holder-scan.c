/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scan through the mountinfo source on a fixture /proc and /sys (see
 * tests/data/holders/README), so the grouping needs no root. */
#include <criterion/criterion.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "basic/strv.h"
#include "holders/holder-scan.h"
#include "test-util.h"

static HolderScan *scan_fixture(bool describe_all) {
        char proc[PATH_MAX], sys[PATH_MAX];
        HolderScanOptions o = {
                .dev = makedev(253, 7),
                .source = MOUNT_SOURCE_AUTO,
                .describe_all = describe_all,
                .proc_root = proc,
                .sys_root = sys,
        };
        HolderScan *s = NULL;

        test_data_path(proc, sizeof(proc), "holders", "proc");
        test_data_path(sys, sizeof(sys), "holders", "sys");
        cr_assert_eq(holder_scan(&o, &s), 0);
        return s;
}

Test(holder_scan_fixture, groups_by_namespace_and_names_root_members) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan_fixture(false);
        const HolderNamespace *ns;

        cr_assert_eq(s->source, MOUNT_SOURCE_MOUNTINFO, "a fixture /proc forces the mountinfo source");
        cr_assert_eq(s->self_mntns, 4026531840);
        cr_assert_eq(s->n_processes, 5);
        cr_assert_eq(s->n_processes_vanished, 1);
        cr_assert_eq(s->n_processes_inaccessible, 0);
        cr_assert_eq(s->n_namespaces_scanned, 3);
        cr_assert_eq(s->n_namespaces_inaccessible, 1, "the pinned namespace cannot be reached here");
        cr_assert(!holder_scan_is_empty(s));

        cr_assert_eq(s->n_namespaces, 1);
        ns = &s->namespaces[0];
        cr_assert_eq(ns->ino, 4026532300);
        cr_assert_eq(ns->id, 0, "mountinfo does not know namespace ids");
        cr_assert_eq(strv_length(ns->mount_points), 1);
        cr_assert_str_eq(ns->mount_points[0], "/var/lib/docker/devicemapper/mnt/abc def");
        cr_assert_eq(ns->n_members, 2);
        cr_assert_eq(ns->members[0], 200);
        cr_assert_eq(ns->members[1], 201);
        cr_assert_eq(ns->n_processes, 1);
        cr_assert_eq(ns->processes[0].pid, 200);
        cr_assert_eq(ns->processes[0].ppid, 100);
        cr_assert(ns->processes[0].root_member);
        cr_assert_str_eq(ns->processes[0].comm, "unshare");
        cr_assert_str_eq(ns->processes[0].unit, "leaky.service");
        cr_assert_eq(ns->n_pins, 0);

        cr_assert_eq(s->n_stacked, 1);
        cr_assert_eq(s->stacked[0].kind, STACKED_HOLDER);
        cr_assert_str_eq(s->stacked[0].name, "dm-9");
        cr_assert_eq(s->stacked[0].dev, makedev(253, 9));
}

Test(holder_scan_fixture, describe_all_names_every_member) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan_fixture(true);

        cr_assert_eq(s->n_namespaces, 1);
        cr_assert_eq(s->namespaces[0].n_processes, 2);
        cr_assert_eq(s->namespaces[0].processes[1].pid, 201);
        cr_assert(!s->namespaces[0].processes[1].root_member);
        cr_assert_str_eq(s->namespaces[0].processes[1].comm, "sleep");
}

Test(holder_scan_fixture, listmount_cannot_read_a_fixture) {
        char proc[PATH_MAX];
        HolderScanOptions o = { .dev = makedev(253, 7), .source = MOUNT_SOURCE_MOUNTINFO, .proc_root = proc };
        HolderScan *s = NULL;

        test_data_path(proc, sizeof(proc), "holders", "nonexistent");
        cr_assert_eq(holder_scan(&o, &s), -ENOENT);
        cr_assert_null(s);
}

/* The fixture's device is mounted in one namespace and has dm-9 stacked on
 * it: two opens explained, a third is not. */
static HolderScan *scan_fixture_for_open_count(bool scan_files, unsigned open_count) {
        char proc[PATH_MAX], sys[PATH_MAX];
        HolderScanOptions o = {
                .dev = makedev(253, 7),
                .source = MOUNT_SOURCE_AUTO,
                .scan_files = scan_files,
                .proc_root = proc,
                .sys_root = sys,
        };
        HolderScan *s = NULL;

        test_data_path(proc, sizeof(proc), "holders", "proc");
        test_data_path(sys, sizeof(sys), "holders", "sys");
        cr_assert_eq(holder_scan_for_open_count(&o, open_count, &s), 0);
        cr_assert_eq(o.scan_files, scan_files, "the caller's options are left as they were");
        return s;
}

Test(holder_scan_fixture, open_count_the_mounts_explain_skips_files) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan_fixture_for_open_count(false, 2);

        cr_assert(holder_scan_explains_open_count(s, 2));
        cr_assert_not(s->files_scanned, "a mount and a stacked device account for two opens");
        cr_assert_eq(s->n_namespaces, 1);
        cr_assert_eq(s->n_stacked, 1);
}

Test(holder_scan_fixture, open_count_beyond_the_mounts_scans_files) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan_fixture_for_open_count(false, 3);

        cr_assert(s->files_scanned, "a third open needs someone's files to explain it");
        cr_assert_eq(s->n_namespaces, 1);
        cr_assert_eq(s->n_stacked, 1);
}

Test(holder_scan_fixture, scan_files_asked_scans_files_once) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan_fixture_for_open_count(true, 0);

        cr_assert(s->files_scanned);
}

Test(holder_scan_fixture, open_count_scan_fails_as_the_scan_does) {
        char proc[PATH_MAX];
        HolderScanOptions o = { .dev = makedev(253, 7), .source = MOUNT_SOURCE_MOUNTINFO, .proc_root = proc };
        HolderScan *s = NULL;

        test_data_path(proc, sizeof(proc), "holders", "nonexistent");
        cr_assert_eq(holder_scan_for_open_count(&o, 5, &s), -ENOENT);
        cr_assert_null(s);
}

/* One walk for several devices says of each what a scan of it alone says:
 * the device the fixture mounts, and the root filesystem (8:1), which
 * every namespace mounts. */
Test(holder_scan_fixture, one_walk_for_many_devices_says_what_each_scan_says) {
        char proc[PATH_MAX], sys[PATH_MAX];
        HolderScanOptions o = { .source = MOUNT_SOURCE_AUTO, .proc_root = proc, .sys_root = sys };
        const dev_t devs[] = { makedev(253, 7), makedev(8, 1), makedev(253, 99) };
        HolderScan *many[ELEMENTSOF(devs)] = {};

        test_data_path(proc, sizeof(proc), "holders", "proc");
        test_data_path(sys, sizeof(sys), "holders", "sys");
        cr_assert_eq(holder_scan_many(&o, devs, ELEMENTSOF(devs), many), 0);
        /* Before the loop below frees them. */
        cr_assert_eq(many[0]->n_namespaces, 1, "the fixture's leak is not found");
        cr_assert_gt(many[1]->n_namespaces, 1, "every namespace mounts the root filesystem");
        cr_assert_eq(many[2]->n_namespaces, 0);
        for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
                _cleanup_(holder_scan_freep) HolderScan *alone = NULL, *s = many[i];

                o.dev = devs[i];
                cr_assert_eq(holder_scan(&o, &alone), 0);
                cr_assert_eq(s->dev, devs[i]);
                cr_assert_eq(s->n_processes, alone->n_processes);
                cr_assert_eq(s->n_namespaces, alone->n_namespaces, "device %zu: %zu namespaces, alone %zu", i,
                             s->n_namespaces, alone->n_namespaces);
                cr_assert_eq(s->n_stacked, alone->n_stacked);
                for (size_t n = 0; n < s->n_namespaces; n++) {
                        cr_assert_eq(s->namespaces[n].ino, alone->namespaces[n].ino);
                        cr_assert_eq(strv_length(s->namespaces[n].mount_points),
                                     strv_length(alone->namespaces[n].mount_points));
                        cr_assert_eq(s->namespaces[n].n_processes, alone->namespaces[n].n_processes);
                }
        }

        o.scan_files = true;
        cr_assert_eq(holder_scan_many(&o, devs, 1, many), -EINVAL, "files are one device's");
}
