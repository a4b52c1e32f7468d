/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/strv.h"
#include "holders/proc-util.h"
#include "test-util.h"

Test(proc_util, stat_survives_any_comm) {
        pid_t ppid = 0;
        unsigned flags = 0;

        cr_assert_eq(proc_parse_stat("42 (sleep) S 7 42 42 0 -1 4194560 0 0", &ppid, &flags), 0);
        cr_assert_eq(ppid, 7);
        cr_assert_eq(flags, 4194560);
        cr_assert_eq(proc_parse_stat("42 (a) S 9 (b) R 3) S 11 42 42 0 -1 2097216 0", &ppid, NULL), 0);
        cr_assert_eq(ppid, 11, "the last ')' ends comm");
        cr_assert_eq(proc_parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0", &ppid, &flags), 0);
        cr_assert_eq(ppid, 0);
        cr_assert(flags & PROC_PF_KTHREAD);
        cr_assert_eq(proc_parse_stat("42 (sleep", &ppid, &flags), -EINVAL);
        cr_assert_eq(proc_parse_stat("42 (x) S 1", &ppid, &flags), -EINVAL, "flags missing");
}

static void expect_unit(const char *cgroup, const char *unit) {
        _cleanup_free_ char *u = NULL;

        cr_assert_eq(cgroup_parse_unit(cgroup, &u), 0);
        if (unit)
                cr_assert_str_eq(strempty(u), unit, "%s", cgroup);
        else
                cr_assert_null(u, "%s gave %s", cgroup, u);
}

Test(proc_util, unit_from_cgroup) {
        expect_unit("0::/system.slice/docker.service\n", "docker.service");
        expect_unit("0::/system.slice/docker-0123abcd.scope\n", "docker-0123abcd.scope");
        expect_unit("0::/system.slice/foo.service/sub/cgroup\n", "foo.service");
        expect_unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n", "user@1000.service");
        expect_unit("0::/user.slice/user-0.slice/session-4.scope\n", "session-4.scope");
        expect_unit("0::/init.scope\n", "init.scope");
        expect_unit("0::/\n", NULL);
        expect_unit("0::/system.slice\n", NULL);
        expect_unit("0::/process_api/d532fc7f\n", NULL);
        expect_unit("", NULL);
        /* Hybrid: the named systemd hierarchy wins over the unified one. */
        expect_unit("12:pids:/x\n1:name=systemd:/system.slice/cron.service\n0::/\n", "cron.service");
        expect_unit("9:name=systemd:/\n0::/system.slice/a.service\n", NULL);
}

Test(proc_util, maps_by_device) {
        static const char maps[] =
                "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:07 131 /usr/bin/cat\n"
                "55d0c0a02000-55d0c0a06000 r-xp 00002000 fd:07 131 /usr/bin/cat\n"
                "7f0000000000-7f0000001000 rw-s 00000000 fd:07 77 /data/with space (deleted)\n"
                "7f0000001000-7f0000002000 r--p 00000000 103:02 9 /elsewhere\n"
                "7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
                "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
                "7f0000003000-7f0000004000 r--p 00000000 103:02 10 /wide/major";
        _cleanup_strv_free_ char **paths = NULL;

        cr_assert_eq(proc_maps_parse(maps, makedev(0xfd, 7), &paths), 0);
        cr_assert_eq(strv_length(paths), 2);
        cr_assert_str_eq(paths[0], "/usr/bin/cat");
        cr_assert_str_eq(paths[1], "/data/with space (deleted)");
        strv_free(paths);

        cr_assert_eq(proc_maps_parse(maps, makedev(0x103, 2), &paths), 0);
        cr_assert_eq(strv_length(paths), 2);
        cr_assert_str_eq(paths[1], "/wide/major", "the last line needs no newline");
        strv_free(paths);

        cr_assert_eq(proc_maps_parse("", makedev(0xfd, 7), &paths), 0);
        cr_assert_eq(strv_length(paths), 0);
}

Test(proc_util, read_file_below_a_proc_fd) {
        _cleanup_close_ int proc_fd = test_open_data_dir("holders", "proc");
        _cleanup_free_ char *comm = NULL, *self = NULL;
        char *none = NULL;
        size_t n = 0;

        cr_assert_eq(proc_read_file(proc_fd, 100, "comm", 4096, &comm, &n), 0);
        cr_assert_str_eq(comm, "systemd-journal\n");
        cr_assert_eq(n, strlen(comm));
        cr_assert_eq(proc_read_file(proc_fd, 0, "comm", 4096, &self, NULL), 0, "PID 0 is self");
        cr_assert_str_eq(self, comm);
        cr_assert_eq(proc_read_file(proc_fd, 100, "comm", 4, &none, NULL), -EFBIG);
        cr_assert_eq(proc_read_file(proc_fd, 400, "comm", 4096, &none, NULL), -ENOENT);
        cr_assert_null(none);
}

Test(proc_util, open_the_real_proc) {
        _cleanup_close_ int proc_fd = proc_open();
        _cleanup_free_ char *comm = NULL;
        char expected[16] = {};
        struct stat st;

        cr_assert_geq(proc_fd, 0);
        cr_assert_eq(fstat(proc_fd, &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
        cr_assert_eq(proc_read_comm(proc_fd, getpid(), &comm), 0);
        cr_assert_eq(prctl(PR_GET_NAME, expected), 0);
        cr_assert_str_eq(comm, expected);
}
