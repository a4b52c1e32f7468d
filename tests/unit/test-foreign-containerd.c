/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which containerd daemons are foreign to the engine, on a fixture /proc
 * (see tests/data/containerd/README). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "basic/macro.h"
#include "engine/foreign-containerd.h"
#include "test-util.h"

#define ENGINE_NS 4026532500ULL

static int open_fixture(void) {
        char proc[PATH_MAX];
        int fd;

        test_data_path(proc, sizeof(proc), "containerd", "proc");
        fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(fd, 0, "cannot open %s", proc);
        return fd;
}

static int by_pid(const void *a, const void *b) {
        return ((const ForeignProcess *) a)->pid - ((const ForeignProcess *) b)->pid;
}

Test(foreign_containerd, host_and_stray_daemons_only) {
        _cleanup_free_ ForeignProcess *found = NULL;
        _cleanup_close_ int fd = open_fixture();
        size_t n = 0;

        cr_assert_eq(foreign_containerd_find(fd, ENGINE_NS, 200, &found, &n), 0);
        cr_assert_eq(n, 2, "found %zu", n);
        qsort(found, n, sizeof(*found), by_pid);
        cr_assert_eq(found[0].pid, 300, "the host's containerd.service");
        cr_assert_eq(found[0].mntns, 4026531841ULL);
        cr_assert_eq(found[1].pid, 600, "a containerd in a namespace of its own");
        cr_assert_eq(found[1].mntns, 4026532700ULL);
}

Test(foreign_containerd, another_engines_containerd_is_foreign) {
        _cleanup_free_ ForeignProcess *found = NULL;
        _cleanup_close_ int fd = open_fixture();
        size_t n = 0;

        /* Seen from the inner dockerd (401): its own containerd (402) is
         * fine, the outer engine's (201) is not. */
        cr_assert_eq(foreign_containerd_find(fd, 4026532601ULL, 401, &found, &n), 0);
        cr_assert_eq(n, 3, "found %zu", n);
        qsort(found, n, sizeof(*found), by_pid);
        cr_assert_eq(found[0].pid, 201);
        cr_assert_eq(found[1].pid, 300);
        cr_assert_eq(found[2].pid, 600);
}
