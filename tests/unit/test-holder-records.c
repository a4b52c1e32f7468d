/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>

#include "holders/holder-records.h"

/* A scan as holder_scan() would return it: the engine namespace (10) with
 * its mount, a leaking namespace (20) whose root member has a mount and
 * whose other member pins a detached mount by its cwd, a process-less
 * namespace (30) pinned by an nsfs mount in the leaking one, and a stacked
 * device. */
static char *engine_mounts[] = { (char *) "/var/lib/docker/mnt/a", NULL };
static char *leak_mounts[] = { (char *) "/mnt/copy", NULL };
static uint64_t leak_mount_ids[] = { 4242 };
static char *ghost_mounts[] = { (char *) "/x", NULL };
static HolderRef cwd_ref = { .kind = HOLDER_REF_CWD, .fd = -1, .path = (char *) "/ (deleted)", .tid = 202 };
static Holder leak_procs[] = {
        { .pid = 200, .comm = (char *) "unshare", .unit = (char *) "a.service", .root_member = true },
        { .pid = 201, .comm = (char *) "sh", .refs = &cwd_ref, .n_refs = 1 },
};
static HolderPin ghost_pin = { .kind = HOLDER_PIN_MOUNT, .mntns = 20, .path = (char *) "/run/ns/x", .root_pid = 200 };
static HolderNamespace namespaces[] = {
        { .ino = 10, .mount_points = engine_mounts },
        { .ino = 20, .mount_points = leak_mounts, .mount_ids = leak_mount_ids, .processes = leak_procs,
          .n_processes = 2 },
        { .ino = 30, .mount_points = ghost_mounts, .pins = &ghost_pin, .n_pins = 1 },
};
static StackedHolder stacked = { .kind = STACKED_HOLDER, .name = (char *) "dm-9" };
static HolderScan scan = { .namespaces = namespaces, .n_namespaces = 3, .stacked = &stacked, .n_stacked = 1 };

static void assert_row(const HolderRecord *r, pid_t pid, const char *comm, uint64_t mntns, const char *kind,
                       const char *path) {
        cr_assert_eq(r->pid, pid);
        cr_assert_str_eq(r->comm, comm);
        cr_assert_eq(r->mntns, mntns);
        cr_assert_str_eq(r->kind, kind);
        cr_assert_str_eq(r->path, path);
}

Test(holder_records, split_by_engine_namespace) {
        HolderRecords engine = {}, others = {};

        cr_assert_eq(holder_records_from_scan(&scan, 10, &engine, &others), 0);
        cr_assert_eq(engine.n_rows, 1);
        assert_row(&engine.rows[0], 0, "", 10, "mount", "/var/lib/docker/mnt/a");

        cr_assert_eq(others.n_rows, 5);
        assert_row(&others.rows[0], 200, "unshare", 20, "mount", "/mnt/copy");
        cr_assert(others.rows[0].root_member);
        cr_assert_str_eq(others.rows[0].unit, "a.service");
        assert_row(&others.rows[1], 201, "sh", 20, "cwd", "/ (deleted)");
        assert_row(&others.rows[2], 0, "", 30, "mount", "/x");
        /* The pin is seen by 200: its root is where the path leads. */
        assert_row(&others.rows[3], 200, "", 30, "pin-mount", "/run/ns/x");
        assert_row(&others.rows[4], 0, "", 0, "stacked", "dm-9");

        cr_assert(!holder_records_equal(&engine, &others));
        holder_records_done(&engine);
        holder_records_done(&others);
        cr_assert_null(others.rows);
}

/* What the scanner knows goes on the bus: the mount's id, and the thread
 * that holds when it is not the process. */
Test(holder_records, rows_carry_the_mount_id_and_the_thread) {
        static Holder thread_only = { .pid = 300, .tid = 301, .comm = (char *) "worker" };
        static char *thread_mounts[] = { (char *) "/mnt/t", NULL };
        HolderNamespace ns = { .ino = 40, .mount_points = thread_mounts, .processes = &thread_only, .n_processes = 1 };
        HolderScan one = { .namespaces = &ns, .n_namespaces = 1 };
        HolderRecords others = {};

        cr_assert_eq(holder_records_from_scan(&scan, 10, NULL, &others), 0);
        cr_assert_eq(others.rows[0].mount_id, 4242, "the mount row has its id");
        cr_assert_eq(others.rows[0].tid, 0, "a whole process holds the mount");
        cr_assert_eq(others.rows[1].tid, 202, "the cwd is its thread's own");
        cr_assert_eq(others.rows[2].mount_id, 0, "no id known");
        holder_records_done(&others);

        cr_assert_eq(holder_records_from_scan(&one, 0, NULL, &others), 0);
        cr_assert_eq(others.n_rows, 1);
        cr_assert_eq(others.rows[0].pid, 300);
        cr_assert_eq(others.rows[0].tid, 301, "a thread alone in the namespace holds its mount");
        holder_records_done(&others);
}

Test(holder_records, no_engine_means_all_are_others) {
        HolderRecords others = {}, again = {};

        cr_assert_eq(holder_records_from_scan(&scan, 0, NULL, &others), 0);
        cr_assert_eq(others.n_rows, 6);
        cr_assert_eq(holder_records_from_scan(&scan, 0, NULL, &again), 0);
        cr_assert(holder_records_equal(&others, &again));
        cr_assert_eq(holder_records_add_unexplained(&again, 3, 1), 0);
        cr_assert(!holder_records_equal(&others, &again));
        cr_assert_str_eq(again.rows[6].kind, "unexplained");
        cr_assert_str_eq(again.rows[6].path, "open count 3, 1 processes could not be inspected");
        holder_records_done(&others);
        holder_records_done(&again);
}

Test(holder_records, empty_scan_gives_no_rows) {
        HolderScan empty = {};
        HolderRecords engine = {}, others = {};

        cr_assert_eq(holder_records_from_scan(&empty, 10, &engine, &others), 0);
        cr_assert_eq(engine.n_rows + others.n_rows, 0);
}
