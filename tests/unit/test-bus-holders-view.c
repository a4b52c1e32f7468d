/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who sees which holder paths on the bus: what /proc would show them. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/bus-holders-view.h"

static char root[] = "/tmp/dmwarden-view-XXXXXX";
static int proc_fd = -1;

/* PID's status in the fixture /proc with these real, effective, saved UIDs. */
static void fake_process(pid_t pid, unsigned r, unsigned e, unsigned s) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%d", root, (int) pid);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/%d/status", root, (int) pid);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t%u\t%u\t%u\t%u\nGid:\t0\t0\t0\t0\n", r, e, s,
                e);
        cr_assert_eq(fclose(f), 0);
}

static void setup(void) {
        cr_assert_not_null(mkdtemp(root));
        proc_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(proc_fd, 0);
        fake_process(100, 1000, 1000, 1000);
        fake_process(200, 1000, 0, 1000);   /* setuid root: not the user's to look at */
        fake_process(301, 2000, 2000, 2000);
}

static void teardown(void) {
        char cmd[64];

        close(proc_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        (void) system(cmd);
}

TestSuite(holders_view, .init = setup, .fini = teardown);

static HolderRecord row(pid_t pid, uint64_t tid, const char *kind) {
        return (HolderRecord) { .pid = pid, .tid = tid, .kind = (char *) kind, .path = (char *) "/x" };
}

Test(holders_view, root_sees_every_path) {
        HolderViewer v = { .all = true, .uid = 0 };
        HolderRecord h = row(301, 0, "cwd");

        cr_assert(holder_path_visible(&v, proc_fd, &h));
}

Test(holders_view, a_user_sees_the_paths_of_its_own_processes_only) {
        HolderViewer v = { .uid = 1000 };
        HolderRecord own = row(100, 0, "cwd"), setuid = row(200, 0, "fd"), other = row(301, 0, "exe");
        HolderRecord gone = row(999, 0, "map");

        cr_assert(holder_path_visible(&v, proc_fd, &own));
        cr_assert_not(holder_path_visible(&v, proc_fd, &setuid), "a setuid process's files are not the user's");
        cr_assert_not(holder_path_visible(&v, proc_fd, &other));
        cr_assert_not(holder_path_visible(&v, proc_fd, &gone), "an unreadable process is hidden");
}

Test(holders_view, a_thread_is_judged_by_itself) {
        HolderViewer v = { .uid = 2000 };
        HolderRecord h = row(100, 301, "cwd");

        cr_assert(holder_path_visible(&v, proc_fd, &h));
}

Test(holders_view, mounts_and_stacked_devices_are_for_everyone) {
        HolderViewer anyone = HOLDER_VIEWER_ANYONE;
        const char *kinds[] = { "mount", "pin-mount", "stacked", "loop", "unexplained" };

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                HolderRecord h = row(301, 0, kinds[i]);

                cr_assert(holder_path_visible(&anyone, proc_fd, &h), "%s hidden", kinds[i]);
        }
}

Test(holders_view, anyone_sees_no_process_file) {
        HolderViewer anyone = HOLDER_VIEWER_ANYONE;
        const char *kinds[] = { "cwd", "root", "exe", "fd", "map", "device-node", "pin-fd" };

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                HolderRecord h = row(100, 0, kinds[i]);

                cr_assert_not(holder_path_visible(&anyone, proc_fd, &h), "%s shown", kinds[i]);
        }
}

Test(holders_view, no_message_is_anyone) {
        HolderViewer v = holder_viewer_of_message(NULL);

        cr_assert_not(v.all);
        cr_assert_eq(v.uid, (uid_t) -1);
}
