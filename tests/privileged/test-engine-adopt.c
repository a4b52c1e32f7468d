/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine outlives dmwardend: killed, re-executed or replaced, dmwardend
 * leaves the engine running, and the next one adopts it, but only the
 * engine its record names, checked against the kernel. This host has no
 * systemd, so the engine has no scope here; the VM scenario engine-survives
 * covers that. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-world.h"

#define WAIT_MS 20000

static DaemonWorld world;
static pid_t helper = -1;

/* Adopted engines whose dmwardend died become our children (instead of
 * PID 1's), so the tests can tell a dead engine from a zombie. */
static void setup(void) {
        cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        world_init(&world);
}

static void teardown(void) {
        if (helper > 0)
                kill(helper, SIGKILL);
        world_destroy(&world);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

TestSuite(engine_adopt, .init = setup, .fini = teardown);

/* engine.sh: appends a line to starts for each start, records its PID. */
static void write_engine_and_config(void) {
        char script[1024];

        snprintf(script, sizeof(script),
                 "#!/bin/bash\n"
                 "echo $$ > @DIR@/engine.pid\n"
                 "echo $$ >> @DIR@/starts\n"
                 "trap 'echo $$ > @DIR@/got-term; exit 0' TERM\n"
                 "%s READY=1\n"
                 "while :; do sleep 0.1; done\n",
                 getenv("FAKE_NOTIFY"));
        world_write_script(&world, "engine.sh", script);
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\nRestart=on-failure\nRestartSec=100ms\n");
}

static pid_t read_pid_file(const char *name) {
        char buf[32];

        cr_assert(world_wait_file(&world, name, buf, sizeof(buf), WAIT_MS), "no %s", name);
        return (pid_t) atoi(buf);
}

static unsigned count_starts(void) {
        char path[128], line[64];
        unsigned n = 0;
        FILE *f;

        world_path(&world, "starts", path, sizeof(path));
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                n++;
        fclose(f);
        return n;
}

/* Whether pid exists and is no zombie (reaping it if it is ours). */
static bool alive(pid_t pid) {
        (void) waitpid(pid, NULL, WNOHANG);
        return process_exists(pid);
}

static bool wait_gone(pid_t pid, unsigned timeout_ms) {
        for (unsigned t = 0; t < timeout_ms; t += 50) {
                if (!alive(pid))
                        return true;
                usleep(50 * 1000);
        }
        return false;
}

static size_t count_text(const char *text) {
        size_t n = 0;

        for (const char *p = world_log(&world); (p = strstr(p, text)); p++)
                n++;
        return n;
}

static void sigkill_daemon(void) {
        cr_assert_eq(kill(world.pid, SIGKILL), 0);
        cr_assert_eq(world_wait_exit(&world, WAIT_MS), 128 + SIGKILL);
}

Test(engine_adopt, a_killed_dmwardend_leaves_the_engine_running_and_the_next_adopts_it) {
        char record[128], adopted[128];
        struct stat st;
        pid_t engine;

        write_engine_and_config();
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        engine = read_pid_file("engine.pid");
        cr_assert(world_wait_log(&world, "No engine scope: systemd is not the init system", 0),
                  "no word that the engine has no scope:\n%s", world_log(&world));
        world_path(&world, "run/engine.state", record, sizeof(record));

        for (int i = 0; i < 3; i++) {
                sigkill_daemon();
                usleep(300 * 1000);
                cr_assert(alive(engine), "the engine died with dmwardend (kill %d)", i + 1);
                cr_assert_eq(stat(record, &st), 0, "no engine record after kill %d", i + 1);

                world_start(&world);
                snprintf(adopted, sizeof(adopted), "Adopted the engine (PID %d", (int) engine);
                /* The log is appended to: wait for this instance's line. */
                for (unsigned t = 0; count_text(adopted) < (size_t) i + 1 && t < WAIT_MS; t += 50)
                        usleep(50 * 1000);
                cr_assert_eq(count_text(adopted), (size_t) i + 1, "kill %d: not adopted:\n%s", i + 1,
                             world_log(&world));
        }
        cr_assert_eq(count_starts(), 1, "the engine was started again");

        /* The adopted engine is still dmwardend's: a stop stops it... */
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert(wait_gone(engine, WAIT_MS), "the adopted engine survived a stop of dmwardend");
        cr_assert_eq(read_pid_file("got-term"), engine, "the engine got no SIGTERM");
        cr_assert(world_wait_log(&world, "it was adopted, so its exit status is unknown", 0));
        /* ...and leaves no record for a later dmwardend to adopt. */
        cr_assert_neq(stat(record, &st), 0, "the engine record outlived the stop");
}

Test(engine_adopt, an_adopted_engine_that_crashes_is_restarted) {
        pid_t engine, second;

        write_engine_and_config();
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        engine = read_pid_file("engine.pid");
        sigkill_daemon();
        world_start(&world);
        cr_assert(world_wait_log(&world, "Adopted the engine", WAIT_MS));

        cr_assert_eq(kill(engine, SIGKILL), 0);
        cr_assert(wait_gone(engine, WAIT_MS));
        cr_assert(world_wait_log(&world, "Restarting the engine", WAIT_MS), "%s", world_log(&world));
        for (unsigned t = 0; count_starts() < 2 && t < WAIT_MS; t += 50)
                usleep(50 * 1000);
        second = read_pid_file("engine.pid");
        cr_assert_neq(second, engine, "no new engine after the adopted one crashed");
        cr_assert(alive(second));
}

Test(engine_adopt, sigusr2_re_executes_dmwardend_without_touching_the_engine) {
        pid_t engine, daemon;

        write_engine_and_config();
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        engine = read_pid_file("engine.pid");
        daemon = world.pid;

        cr_assert_eq(kill(daemon, SIGUSR2), 0);
        cr_assert(world_wait_log(&world, "re-executing", WAIT_MS));
        cr_assert(world_wait_log(&world, "Adopted the engine", WAIT_MS), "%s", world_log(&world));
        cr_assert(world_wait_notify(&world, "RELOADING=1", 0));
        cr_assert_eq(world.pid, daemon);
        cr_assert(alive(engine));
        cr_assert_eq(count_starts(), 1, "the engine was started again");

        /* Still dmwardend's child after the re-exec: its exit status is known. */
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert(world_wait_log(&world, "exited successfully", 0), "%s", world_log(&world));
        cr_assert(!alive(engine));
}

/* A record is a hint, never trusted: one that names another process (here
 * a sleep with the right PID and start time, in the wrong namespace) is
 * not adopted, that process is left alone, and a new engine is started. */
Test(engine_adopt, a_record_that_names_another_process_is_not_adopted) {
        char path[128], stat_text[1024], *p;
        unsigned long long start_time = 0;
        FILE *f;

        helper = fork();
        cr_assert_geq(helper, 0);
        if (helper == 0) {
                execl("/bin/sleep", "sleep", "60", (char *) NULL);
                _exit(127);
        }
        usleep(100 * 1000);
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) helper);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(stat_text, sizeof(stat_text), f));
        fclose(f);
        p = strrchr(stat_text, ')');
        for (int field = 2; p && field < 22; field++)
                p = strchr(p + 1, ' ');
        cr_assert(p && sscanf(p, " %llu", &start_time) == 1);

        write_engine_and_config();
        world_path(&world, "run", path, sizeof(path));
        cr_assert_eq(mkdir(path, 0755), 0);
        world_path(&world, "run/engine.state", path, sizeof(path));
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "PID=%d\nSTART_TIME=%llu\nNAMESPACE=1234\nMAIN_PID=%d\nREADY=1\nSCOPE=\n", (int) helper,
                start_time, (int) helper);
        fclose(f);

        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        cr_assert(world_wait_log(&world, "it is not in the recorded mount namespace", 0), "%s", world_log(&world));
        cr_assert_eq(count_starts(), 1);
        cr_assert_neq(read_pid_file("engine.pid"), helper);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert(alive(helper), "a process the record named was killed");
}
