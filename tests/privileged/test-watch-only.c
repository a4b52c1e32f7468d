/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Watch-only mode with PIDFile=: the engine named by the file is followed
 * across restarts. When it exits, dmwardend lets go of everything of its
 * namespace at once (so it keeps no dead engine's mounts alive), and takes
 * the next process the file names, unless that process started after the
 * file was written (a stale file naming a reused PID). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-world.h"

#define WAIT_MS 20000

static DaemonWorld world = { .notify_fd = -1 };
static pid_t engines[3] = { -1, -1, -1 };

static void teardown(void) {
        for (size_t i = 0; i < 3; i++)
                if (engines[i] > 0) {
                        (void) kill(engines[i], SIGKILL);
                        (void) waitpid(engines[i], NULL, 0);
                }
        if (world.dir[0])
                world_destroy(&world);
}

TestSuite(watch_only, .fini = teardown, .timeout = 120);

/* A process in a mount namespace of its own that only waits. */
static pid_t start_engine(void) {
        int p[2];
        pid_t pid;
        char c;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNS) < 0 || write(p[1], "x", 1) != 1)
                        _exit(10);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the engine stand-in could not make its namespace");
        close(p[0]);
        return pid;
}

static void write_pid_file(pid_t pid) {
        char path[128], tmp[136];
        FILE *f;

        world_path(&world, "engine.pid", path, sizeof(path));
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        f = fopen(tmp, "we");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", (int) pid);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, path), 0);
}

static unsigned long mntns_of(pid_t pid) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) pid);
        cr_assert_eq(stat(path, &st), 0);
        return (unsigned long) st.st_ino;
}

/* Whether dmwardend has anything of /proc/PID open. */
static bool daemon_holds_proc_of(pid_t pid) {
        char dir[64], link[96], target[256], prefix[32];
        struct dirent *de;
        bool found = false;
        DIR *d;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) world.pid);
        snprintf(prefix, sizeof(prefix), "/proc/%d/", (int) pid);
        d = opendir(dir);
        cr_assert_not_null(d);
        while (!found && (de = readdir(d))) {
                ssize_t n;

                snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
                n = readlink(link, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                found = strncmp(target, prefix, strlen(prefix)) == 0;
        }
        closedir(d);
        return found;
}

static bool wait_let_go_of(pid_t pid, unsigned timeout_ms) {
        for (unsigned waited = 0; waited < timeout_ms; waited += 50) {
                if (!daemon_holds_proc_of(pid))
                        return true;
                usleep(50 * 1000);
        }
        return false;
}

#define expect_log(...)                                                                                   \
        do {                                                                                              \
                char _text[256];                                                                          \
                snprintf(_text, sizeof(_text), __VA_ARGS__);                                              \
                cr_assert(world_wait_log(&world, _text, WAIT_MS), "no \"%s\" in the daemon's log:\n%s", \
                          _text, world_log(&world));                                                      \
        } while (0)

Test(watch_only, the_engine_is_followed_across_a_restart) {
        world_init(&world);
        engines[0] = start_engine();
        write_pid_file(engines[0]);
        world_write_config(&world, "[Engine]\nPIDFile=@DIR@/engine.pid\n[Policy]\nAction=report\n");
        world_start(&world);
        expect_log("the engine namespace is %lu, that of PID %d.", mntns_of(engines[0]), (int) engines[0]);
        cr_assert(daemon_holds_proc_of(engines[0]), "dmwardend does not follow the engine's mount table");

        /* The engine dies: nothing of its namespace is kept. */
        cr_assert_eq(kill(engines[0], SIGKILL), 0);
        cr_assert_eq(waitpid(engines[0], NULL, 0), engines[0]);
        expect_log("The engine (PID %d, named by PIDFile=", (int) engines[0]);
        cr_assert(wait_let_go_of(engines[0], WAIT_MS), "dmwardend still has /proc/%d open: the dead engine's "
                  "namespace and its mounts stay alive", (int) engines[0]);
        engines[0] = -1;

        /* Its successor, once the file names it. */
        engines[1] = start_engine();
        write_pid_file(engines[1]);
        expect_log("the engine namespace is %lu, that of PID %d.", mntns_of(engines[1]), (int) engines[1]);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop:\n%s", world_log(&world));
}

Test(watch_only, a_stale_pid_file_naming_a_newer_process_is_not_believed) {
        struct timespec old[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
        char path[128];

        world_init(&world);
        engines[2] = start_engine();
        write_pid_file(engines[2]);
        world_path(&world, "engine.pid", path, sizeof(path));
        /* Written an hour before its process started: a reused PID. */
        cr_assert_eq(utimensat(AT_FDCWD, path, old, 0), 0);
        world_write_config(&world, "[Engine]\nPIDFile=@DIR@/engine.pid\n[Policy]\nAction=report\n");
        world_start(&world);
        expect_log("started after the file was written");
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1 while waiting for the engine");
        cr_assert_not(daemon_holds_proc_of(engines[2]), "dmwardend follows a process the stale file names");

        /* Written again by its engine: believed. */
        write_pid_file(engines[2]);
        expect_log("the engine namespace is %lu, that of PID %d.", mntns_of(engines[2]), (int) engines[2]);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop:\n%s", world_log(&world));
}
