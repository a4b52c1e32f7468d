/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine-record.h"
#include "test-util.h"

static char dir[256];

static void setup(void) {
        test_make_tmpdir(dir, sizeof(dir));
}

static void teardown(void) {
        test_remove_tree(dir);
}

TestSuite(engine_record, .init = setup, .fini = teardown);

Test(engine_record, what_is_saved_is_loaded) {
        EngineRecord rec = {
                .pid = 4242, .start_time = 987654, .namespace_inode = 4026532178ULL, .main_pid = 4343,
                .ready = true, .scope = "dmwarden-engine.scope",
        }, back;

        cr_assert_eq(engine_record_save(dir, &rec), 0);
        cr_assert_eq(engine_record_load(dir, &back), 0);
        cr_assert_eq(back.pid, 4242);
        cr_assert_eq(back.start_time, 987654);
        cr_assert_eq(back.namespace_inode, 4026532178ULL);
        cr_assert_eq(back.main_pid, 4343);
        cr_assert(back.ready);
        cr_assert_str_eq(back.scope, "dmwarden-engine.scope");
        cr_assert_eq(engine_record_remove(dir), 0);
        cr_assert_eq(engine_record_load(dir, &back), -ENOENT);
        cr_assert_eq(engine_record_remove(dir), 0, "removing no record is fine");
}

Test(engine_record, a_record_that_names_nothing_is_refused) {
        static const char *const bad[] = {
                "",
                "PID=1\nSTART_TIME=5\nNAMESPACE=7\n",          /* PID 1 is never the engine */
                "PID=100\nNAMESPACE=7\n",                       /* no start time: no identity */
                "PID=100\nSTART_TIME=5\n",                      /* no namespace */
                "garbage",
        };
        char path[512];
        EngineRecord back;

        snprintf(path, sizeof(path), "%s/" ENGINE_RECORD_NAME, dir);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                test_write_file(path, bad[i]);
                cr_assert_eq(engine_record_load(dir, &back), -EBADMSG, "accepted: %s", bad[i]);
        }
}

Test(engine_record, main_pid_defaults_to_the_pid) {
        char path[512];
        EngineRecord back;

        snprintf(path, sizeof(path), "%s/" ENGINE_RECORD_NAME, dir);
        test_write_file(path, "PID=100\nSTART_TIME=5\nNAMESPACE=7\n");
        cr_assert_eq(engine_record_load(dir, &back), 0);
        cr_assert_eq(back.main_pid, 100);
        cr_assert(!back.ready);
        cr_assert_str_eq(back.scope, "");
}

Test(engine_record, start_time_of_a_live_process_and_of_none) {
        uint64_t a = 0, b = 0;

        cr_assert_eq(proc_read_start_time(getpid(), &a), 0);
        cr_assert_gt(a, 0);
        cr_assert_eq(proc_read_start_time(getpid(), &b), 0);
        cr_assert_eq(a, b, "a process's start time never changes");
        cr_assert_eq(proc_read_start_time(1, &b), 0);
        cr_assert_leq(b, a, "PID 1 started first");
        cr_assert_eq(proc_read_start_time(0x3ffffff, &b), -ESRCH);
}
