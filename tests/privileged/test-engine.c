/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine supervisor on the real kernel: dmwardend runs a fake engine (a
 * shell script) and the tests check what a user of the real one would. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "ctl-run.h"
#include "daemon-world.h"
#include "loop-util.h"

/* Generous: everything here may run under valgrind or on a loaded machine. */
#define WAIT_MS 20000

static DaemonWorld world;
static TestLoop loop = { .fd = -1 };
static pid_t helper = -1;       /* a process a test started besides the daemon */

static void setup(void) {
        world_init(&world);
}

static void teardown(void) {
        if (helper > 0) {
                kill(helper, SIGKILL);
                waitpid(helper, NULL, 0);
        }
        world_destroy(&world);
        test_loop_release(&loop);
}

/* Writes engine.sh: records its pid, runs body, then waits for signals. */
static void write_engine(const char *body) {
        char script[4096];

        snprintf(script, sizeof(script),
                 "#!/bin/bash\n"
                 "echo $$ > @DIR@/engine.pid\n"
                 "notify() { %s \"$@\"; }\n"
                 "%s\n"
                 "while :; do sleep 0.1; done\n",
                 getenv("FAKE_NOTIFY"), body);
        world_write_script(&world, "engine.sh", script);
}

static pid_t engine_pid(void) {
        char buf[32];

        cr_assert(world_wait_file(&world, "engine.pid", buf, sizeof(buf), WAIT_MS), "the engine never started");
        return (pid_t) atoi(buf);
}

static bool engine_sees(pid_t pid, const char *text) {
        char path[64], line[4096];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int) pid);
        f = fopen(path, "re");
        cr_assert_not_null(f, "engine %d is gone", (int) pid);
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, text) != NULL;
        fclose(f);
        return found;
}

static bool host_sees(const char *text) {
        return engine_sees(getpid(), text);
}

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 120);

Test(engine, mounts_stay_in_the_engine_namespace_and_die_with_it) {
        char body[1024], pin[128], devnum[32], tmpfs[128];
        struct stat st_pin, st_ns;
        char ns[64];
        pid_t pid;

        test_loop_new(&loop, 16);
        snprintf(body, sizeof(body),
                 "mkdir -p @DIR@/mnt-tmpfs @DIR@/mnt-loop\n"
                 "mount -t tmpfs enginefs @DIR@/mnt-tmpfs || exit 1\n"
                 "mount %s @DIR@/mnt-loop || exit 1\n"
                 "notify READY=1",
                 loop.node);
        write_engine(body);
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);

        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        pid = engine_pid();
        snprintf(devnum, sizeof(devnum), " %u:%u ", major(loop.devnum), minor(loop.devnum));
        world_path(&world, "mnt-tmpfs", tmpfs, sizeof(tmpfs));
        cr_assert(engine_sees(pid, tmpfs));
        cr_assert(engine_sees(pid, devnum));
        cr_assert(!host_sees(tmpfs), "the engine's tmpfs reached the host namespace");
        cr_assert(!host_sees(devnum), "the engine's loop mount reached the host namespace");

        /* The pin names the engine's namespace, for nsenter --mount=. */
        world_path(&world, "run/engine.mnt", pin, sizeof(pin));
        snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int) pid);
        cr_assert_eq(stat(pin, &st_pin), 0, "no pin at %s", pin);
        cr_assert_eq(stat(ns, &st_ns), 0);
        cr_assert_eq(st_pin.st_ino, st_ns.st_ino, "the pin names another namespace");

        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop cleanly");
        cr_assert(!process_exists(pid), "the engine outlived dmwardend");
        cr_assert_neq(access(pin, F_OK), 0, "the pin was left behind");
        cr_assert(wait_device_free(loop.node, 10000), "the engine's device is still busy after stop");
}

static void check_host_mount_propagation(const char *propagation, bool expect_visible) {
        char config[256], shared[128], late[128];
        pid_t pid;

        /* A shared mount, as / is on a systemd host, with a late mount below. */
        world_path(&world, "shared", shared, sizeof(shared));
        world_path(&world, "shared/late", late, sizeof(late));
        cr_assert_eq(mkdir(shared, 0755), 0);
        cr_assert_eq(mount("sharedroot", shared, "tmpfs", 0, NULL), 0);
        cr_assert_eq(mount(NULL, shared, NULL, MS_SHARED, NULL), 0);
        cr_assert_eq(mkdir(late, 0755), 0);

        write_engine("notify READY=1");
        snprintf(config, sizeof(config), "[Engine]\nExecStart=@DIR@/engine.sh\nPropagation=%s\n", propagation);
        world_write_config(&world, config);
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        pid = engine_pid();

        cr_assert_eq(mount("latefs", late, "tmpfs", 0, NULL), 0);
        cr_assert(host_sees(late));
        /* Propagation is synchronous in mount(2): no waiting needed. */
        cr_assert_eq(engine_sees(pid, late), expect_visible, "Propagation=%s: host mount %s in the engine",
                     propagation, expect_visible ? "missing" : "visible");
        cr_assert_eq(umount2(late, MNT_DETACH), 0);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
}

Test(engine, host_mounts_reach_a_slave_engine) {
        check_host_mount_propagation("slave", true);
}

Test(engine, host_mounts_do_not_reach_a_private_engine) {
        check_host_mount_propagation("private", false);
}

Test(engine, ready_is_relayed_only_after_the_engine_sends_it) {
        char go[128], buf[16];

        write_engine("while [ ! -e @DIR@/go ]; do sleep 0.05; done\n"
                     "notify READY=1 'STATUS=fake engine up'");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);

        (void) engine_pid();
        cr_assert(world_wait_notify(&world, "STATUS=Starting", WAIT_MS), "sent: %s", world.notes);
        cr_assert(!world_wait_notify(&world, "READY=1", 1500), "READY=1 before the engine was ready");
        world_path(&world, "go", go, sizeof(go));
        cr_assert(world_wait_file(&world, "engine.pid", buf, sizeof(buf), 0));
        world_write_script(&world, "go", "");
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        cr_assert(world_wait_notify(&world, "fake engine up", WAIT_MS), "engine STATUS= not relayed: %s",
                  world.notes);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
}

Test(engine, ready_from_a_helper_that_exited_is_accepted_from_root) {
        /* The sender is gone (or a zombie) when dmwardend reads the message,
         * so its namespace cannot be checked; it was root. */
        write_engine("notify --from-exited-child READY=1 || exit 1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
}

Test(engine, ready_from_a_helper_that_exited_is_ignored_from_others) {
        write_engine("notify --from-exited-child --uid 65534 READY=1 || exit 1\n"
                     "touch @DIR@/sent");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);
        cr_assert(world_wait_log(&world, "(UID 65534): not part of the engine", WAIT_MS),
                  "no warning about the non-root sender");
        cr_assert(!world_wait_notify(&world, "READY=1", 1000), "READY=1 from an unverifiable non-root sender");
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
}

/* The name of an abstract socket can be taken first by any user; a file in
 * dmwardend's runtime directory, mode 0600, cannot. */
Test(engine, the_notify_socket_is_roots_file_in_the_runtime_directory) {
        char expected[160], got[160];
        struct stat st;

        write_engine("printf '%s\\n' \"$NOTIFY_SOCKET\" >@DIR@/notify-socket.tmp && "
                     "mv @DIR@/notify-socket.tmp @DIR@/notify-socket\n"
                     "notify READY=1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);
        cr_assert(world_wait_file(&world, "notify-socket", got, sizeof(got), WAIT_MS), "the engine never ran");
        got[strcspn(got, "\n")] = '\0';
        world_path(&world, "run/engine-notify", expected, sizeof(expected));
        cr_assert_str_eq(got, expected);
        cr_assert_eq(stat(got, &st), 0, "%s: %s", got, strerror(errno));
        cr_assert(S_ISSOCK(st.st_mode), "%s is not a socket", got);
        cr_assert_eq(st.st_mode & 07777, 0600, "%s has mode %o", got, st.st_mode & 07777);
        cr_assert_eq(st.st_uid, 0);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1 through it; sent: %s", world.notes);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert_neq(stat(got, &st), 0, "%s is left behind after a clean stop", got);
}

static bool has_comm(pid_t pid, const char *want) {
        char path[64], comm[32] = "";
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (!fgets(comm, sizeof(comm), f))
                comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        return strcmp(comm, want) == 0;
}

/* Starts dir/containerd (a copy of sleep, so comm says containerd) in the
 * host namespace, as containerd.service would run. */
static pid_t start_host_containerd(void) {
        char path[128], command[256];
        pid_t pid;

        world_path(&world, "containerd", path, sizeof(path));
        snprintf(command, sizeof(command), "cp /bin/sleep %s", path);
        cr_assert_eq(system(command), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                execl(path, "containerd", "600", (char *) NULL);
                _exit(127);
        }
        helper = pid;
        /* The daemon looks once, when the engine starts: the child must
         * have exec'd by then, or it still goes by the test's name. */
        for (unsigned waited_ms = 0; !has_comm(pid, "containerd"); waited_ms += 10) {
                cr_assert_lt(waited_ms, WAIT_MS, "the stand-in containerd (PID %d) never exec'd", (int) pid);
                usleep(10 * 1000);
        }
        return pid;
}

Test(engine, a_containerd_outside_the_engine_namespace_is_reported) {
        char log_text[128], engine_containerd[32];
        pid_t host;

        host = start_host_containerd();
        /* The engine's own containerd, inside its namespace, is fine. */
        write_engine("@DIR@/containerd 600 &\necho $! > @DIR@/own.pid\nnotify READY=1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        snprintf(log_text, sizeof(log_text), "containerd (PID %d) runs in mount namespace", (int) host);
        cr_assert(world_wait_log(&world, log_text, WAIT_MS), "no warning about the host's containerd in the log:\n%s",
                  world_log(&world));
        cr_assert(world_wait_file(&world, "own.pid", engine_containerd, sizeof(engine_containerd), WAIT_MS));
        snprintf(log_text, sizeof(log_text), "containerd (PID %d)", atoi(engine_containerd));
        cr_assert(!world_wait_log(&world, log_text, 0), "the engine's own containerd was reported");
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
}

Test(engine, sigterm_reaches_the_engine) {
        char buf[16];

        write_engine("trap 'echo yes > @DIR@/got-term; exit 0' TERM\nnotify READY=1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert(world_wait_file(&world, "got-term", buf, sizeof(buf), 0), "the engine never saw SIGTERM");
        cr_assert(world_wait_log(&world, "exited successfully", 0));
}

/* The engine's main process (MAINPID=) died and its PID went to another
 * process: the stop's SIGTERM goes through the pidfd taken when MAINPID=
 * came, so it reaches nobody, never the newcomer. */
Test(engine, a_reused_main_pid_is_never_signalled) {
        char buf[32];
        pid_t main_pid;
        int status;

        write_engine("sleep 1000 &\necho $! > @DIR@/main.pid\nnotify MAINPID=$! READY=1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\nStopTimeoutSec=2s\n");
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        cr_assert(world_wait_file(&world, "main.pid", buf, sizeof(buf), WAIT_MS));
        main_pid = (pid_t) atoi(buf);
        snprintf(buf, sizeof(buf), "now PID %d.", (int) main_pid);
        cr_assert(world_wait_log(&world, buf, WAIT_MS), "MAINPID= was not taken:\n%s", world_log(&world));

        cr_assert_eq(kill(main_pid, SIGKILL), 0);
        for (int i = 0; i < 200 && process_exists(main_pid); i++)
                usleep(50 * 1000); /* the engine's shell reaps it */
        cr_assert_not(process_exists(main_pid), "the engine did not reap its main process");
        {
                FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");

                cr_assert_not_null(f);
                cr_assert_gt(fprintf(f, "%d", (int) main_pid - 1), 0);
                cr_assert_eq(fclose(f), 0);
        }
        helper = fork();
        cr_assert_geq(helper, 0);
        if (helper == 0) {
                for (;;)
                        pause();
        }
        cr_assert_eq(helper, main_pid, "the PID went elsewhere (%d): cannot test its reuse", (int) helper);

        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop:\n%s", world_log(&world));
        cr_assert_eq(waitpid(helper, &status, WNOHANG), 0, "the process that reused the engine's main PID was "
                     "signalled (status %d):\n%s", status, world_log(&world));
}

Test(engine, stop_timeout_escalates_to_sigkill) {
        pid_t pid;

        write_engine("trap '' TERM\nnotify READY=1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\nStopTimeoutSec=1s\n");
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        pid = engine_pid();
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert(!process_exists(pid), "the engine survived SIGKILL");
        cr_assert(world_wait_log(&world, "still running 1s after SIGTERM, sending SIGKILL", 0));
        cr_assert(world_wait_log(&world, "killed by signal KILL", 0));
}

/* Start times (ns) the engine recorded, one per line. */
static size_t read_starts(long long *starts, size_t max) {
        char path[128];
        size_t n = 0;
        FILE *f;

        world_path(&world, "starts", path, sizeof(path));
        f = fopen(path, "re");
        cr_assert_not_null(f);
        while (n < max && fscanf(f, "%lld", &starts[n]) == 1)
                n++;
        fclose(f);
        return n;
}

Test(engine, crash_loop_backs_off_and_ends_failed) {
        long long starts[16];
        size_t n;

        world_write_script(&world, "engine.sh", "#!/bin/bash\ndate +%s%N >> @DIR@/starts\nexit 3\n");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\nRestart=on-failure\n"
                                   "RestartSec=200ms\nStartLimitBurst=4\nStartLimitIntervalSec=1min\n");
        world_start(&world);

        cr_assert_eq(world_wait_exit(&world, 60000), 1, "dmwardend should fail once the engine is given up on");
        cr_assert(world_wait_log(&world, "exited with status 3", 0));
        cr_assert(world_wait_log(&world, "start limit hit", 0));
        cr_assert(!world_wait_notify(&world, "READY=1", 0), "READY=1 for an engine that never ran");

        n = read_starts(starts, 16);
        cr_assert_eq(n, 4, "StartLimitBurst=4 allows exactly 4 starts, saw %zu", n);
        /* 200 ms, then doubled: each gap at least as long as its delay. */
        for (size_t i = 1; i < n; i++) {
                long long want_ms = 200LL << (i - 1);
                long long gap_ms = (starts[i] - starts[i - 1]) / 1000000LL;

                cr_assert_geq(gap_ms, want_ms, "restart %zu came after %lld ms, back-off says %lld", i, gap_ms,
                              want_ms);
        }
}

Test(engine, socket_activation_fds_reach_the_engine) {
        char line[256], fd_link[64], want[64];
        int pair0[2], pair1[2], listen_fds, engine, listen_pid;
        char names[64] = "";
        struct stat st;

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair0), 0);
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair1), 0);
        world.extra_fds[0] = pair0[0];
        world.extra_fds[1] = pair1[0];
        close(pair0[1]);
        close(pair1[1]);

        write_engine("echo \"$$ $LISTEN_PID $LISTEN_FDS $LISTEN_FDNAMES\" > @DIR@/listen.tmp\n"
                     "readlink /proc/$$/fd/3 >> @DIR@/listen.tmp\n"
                     "readlink /proc/$$/fd/4 >> @DIR@/listen.tmp\n"
                     "mv @DIR@/listen.tmp @DIR@/listen\nnotify READY=1");
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n");
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS));
        cr_assert(world_wait_file(&world, "listen", line, sizeof(line), WAIT_MS));
        cr_assert_eq(sscanf(line, "%d %d %d %63s", &engine, &listen_pid, &listen_fds, names), 4, "got: %s", line);
        cr_assert_eq(listen_pid, engine, "LISTEN_PID must be the engine's own pid");
        cr_assert_eq(listen_fds, 2);
        cr_assert_str_eq(names, "first:second");

        /* fd 3 and 4 in the engine are our very sockets. */
        world_path(&world, "listen", fd_link, sizeof(fd_link));
        FILE *f = fopen(fd_link, "re");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(line, sizeof(line), f));
        for (int i = 0; i < 2; i++) {
                cr_assert_not_null(fgets(line, sizeof(line), f));
                cr_assert_eq(fstat(world.extra_fds[i], &st), 0);
                snprintf(want, sizeof(want), "socket:[%lu]\n", (unsigned long) st.st_ino);
                cr_assert_str_eq(line, want, "fd %d of the engine", 3 + i);
        }
        fclose(f);
        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
}

/* A file named with --config is meant to be read: running on the defaults
 * instead would hide a typo. (Only the default path may be missing.) */
Test(engine, a_named_config_file_that_is_missing_is_refused) {
        char path[128], expected[192];

        world_path(&world, "dmwarden.conf", path, sizeof(path));
        world_start(&world); /* with --config path, never written */
        cr_assert_eq(world_wait_exit(&world, WAIT_MS), 6, "dmwardend did not refuse to start:\n%s",
                     world_log(&world));
        snprintf(expected, sizeof(expected), "%s: cannot read: No such file or directory", path);
        cr_assert(world_wait_log(&world, expected, 0), "%s", world_log(&world));
}

Test(engine, dmwardend_says_what_is_wrong_with_its_command_line) {
        _cleanup_free_ char *out = NULL, *err = NULL, *bad_out = NULL, *bad_err = NULL;

        cr_assert_eq(RUN_DAEMON_ERR(&out, &err, "--config", "/nonexistent/dmwarden.conf", "--dump-config"), 6, "%s%s",
                     out, err);
        cr_assert_str_empty(out, "no configuration to dump: %s", out);
        cr_assert(strstr(err, "/nonexistent/dmwarden.conf: cannot read: No such file or directory"), "%s", err);

        cr_assert_eq(RUN_DAEMON_ERR(&bad_out, &bad_err, "--bogus"), 2);
        cr_assert(strstr(bad_err, "unrecognized option '--bogus'"), "%s", bad_err);
        cr_assert(strstr(bad_err, "Try 'dmwardend --help' for more information."), "%s", bad_err);
}

Test(engine, missing_binary_is_a_clear_error) {
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/no-such-engine --flag\nRestart=no\n");
        world_start(&world);
        cr_assert_eq(world_wait_exit(&world, WAIT_MS), 1);
        cr_assert(world_wait_log(&world, "failed to execute", 0));
        cr_assert(world_wait_log(&world, "/no-such-engine: No such file or directory", 0));
}
