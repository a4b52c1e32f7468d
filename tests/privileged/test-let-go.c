/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How dmwardend tells that the engine let a device go when the engine
 * does not defer its removal: the engine mounts a loop device (described
 * to dmwardend as a thin device) in a mount namespace of its own, a holder
 * copies that namespace as a monitoring container does, and the engine
 * unmounts. Then either its forced removal swaps the table for "error"
 * (containerd), or it only retries a plain removal (Docker without
 * deferral), which leaves no trace but time. Checked as an operator
 * would: the daemon's log (its alerts), the holder's mount table, and
 * whether the device was removed (the directory source deletes its file). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "daemon-world.h"
#include "loop-util.h"

#define WAIT_MS 20000

static DaemonWorld world;
static TestLoop loop = { .fd = -1 };
static char mnt[96], devices[96], description[128];
static pid_t engine = -1, holder = -1;
static int engine_commands = -1;   /* write 'u' to make the engine unmount */

static void stop_child(pid_t *pid) {
        if (*pid > 0) {
                (void) kill(*pid, SIGKILL);
                (void) waitpid(*pid, NULL, 0);
        }
        *pid = -1;
}

static void setup(void) {
        world_init(&world);
        test_loop_new(&loop, 16);
        world_path(&world, "mnt", mnt, sizeof(mnt));
        world_path(&world, "devices", devices, sizeof(devices));
        snprintf(description, sizeof(description), "%s/thin1", devices);
        cr_assert_eq(mkdir(mnt, 0755), 0);
        cr_assert_eq(mkdir(devices, 0755), 0);
        world.device_source = devices;
}

static void teardown(void) {
        stop_child(&holder);
        stop_child(&engine);
        if (engine_commands >= 0)
                close(engine_commands);
        engine_commands = -1;
        world_destroy(&world);
        test_loop_release(&loop);
}

TestSuite(let_go, .init = setup, .fini = teardown, .timeout = 120);

/* Waits for one byte from a child's set-up pipe. */
static void wait_ready(int fd, const char *who) {
        char c;

        cr_assert_eq(read(fd, &c, 1), 1, "%s could not set up", who);
        close(fd);
}

/* The engine: its own namespace (a slave of ours, so nothing it mounts
 * reaches us), the device mounted there, a PID file; unmounts on 'u'. */
static void start_engine(void) {
        int ready[2], commands[2];
        char path[128];
        FILE *f;

        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(commands, O_CLOEXEC), 0);
        engine = fork();
        cr_assert_geq(engine, 0);
        if (engine == 0) {
                char c;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                        _exit(10);
                /* Shared within its own namespace tree, as a real root is. */
                if (mount(loop.node, mnt, "ext4", 0, NULL) < 0 || mount(NULL, mnt, NULL, MS_SHARED, NULL) < 0)
                        _exit(11);
                close(loop.fd);
                if (write(ready[1], "r", 1) != 1)
                        _exit(12);
                close(ready[1]);
                while (read(commands[0], &c, 1) == 1)
                        if (c == 'u' && umount2(mnt, MNT_DETACH) < 0)
                                _exit(13);
                _exit(0);
        }
        close(commands[0]);
        engine_commands = commands[1];
        close(ready[1]);
        wait_ready(ready[0], "the engine");
        world_path(&world, "engine.pid", path, sizeof(path));
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", (int) engine);
        cr_assert_eq(fclose(f), 0);
}

typedef enum HolderUse {
        HOLDER_FILESYSTEM,      /* keeps its private copy of the engine's mount */
        HOLDER_BLOCK_DEVICE,    /* drops the copy and opens the device node, as a VM monitor does */
} HolderUse;

/* A process that joined the engine's namespace and made a private copy of
 * it: a monitoring container with the engine's state directory mounted. */
static void start_holder(HolderUse use) {
        int ready[2];
        char ns[64];

        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int) engine);
        holder = fork();
        cr_assert_geq(holder, 0);
        if (holder == 0) {
                int fd = open(ns, O_RDONLY | O_CLOEXEC);

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (fd < 0 || setns(fd, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
                        _exit(10);
                close(fd);
                if (use == HOLDER_BLOCK_DEVICE &&
                    (umount2(mnt, 0) < 0 || open(loop.node, O_RDONLY | O_CLOEXEC) < 0))
                        _exit(11);
                close(loop.fd);
                if (write(ready[1], "r", 1) != 1)
                        _exit(12);
                for (;;)
                        pause();
        }
        close(ready[1]);
        wait_ready(ready[0], "the holder");
}

/* The engine unmounts the device and lets it go. */
static void engine_unmounts(void) {
        cr_assert_eq(write(engine_commands, "u", 1), 1);
}

/* The device as the directory source describes it: never flagged for
 * deferred removal here; target "thin", or "error" after a forced removal. */
static void describe_device(const char *target) {
        char tmp[160];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s/.thin1.tmp", devices);
        f = fopen(tmp, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=thin-leak\ndev=%u:%u\ntarget=%s\npool=%s\n", major(loop.devnum), minor(loop.devnum),
                target, streq(target, "error") ? "" : "pool0");
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, description), 0);
}

#define expect_log(text) \
        cr_assert(world_wait_log(&world, (text), WAIT_MS), "no \"%s\" in the daemon's log:\n%s", (text), \
                  world_log(&world))

/* Engine, holder and daemon, with the device the engine's (active). */
static void start_world(HolderUse use, const char *watch) {
        char config[512];

        start_engine();
        start_holder(use);
        /* Our own reference to the node would be a holder too. */
        test_loop_release(&loop);
        describe_device("thin");
        snprintf(config, sizeof(config), "[Engine]\nPIDFile=@DIR@/engine.pid\n[Watch]\n%s[Policy]\nAction=detach\n",
                 watch);
        world_write_config(&world, config);
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        expect_log("Watching thin-leak");
}

static bool holder_mounts_device(void) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int) holder);
        return mountinfo_has_device(path, loop.devnum);
}

static void stop_daemon(void) {
        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop cleanly:\n%s", world_log(&world));
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Docker without deferred removal: it unmounts and retries a plain
 * removal, which the kernel does not show. Held past SettleSec=, the
 * holder is freed; the device is left for the engine's next removal. */
Test(let_go, unmounted_and_held_past_the_settle_time_is_a_leak) {
        start_world(HOLDER_FILESYSTEM, "SettleSec=1s\n");
        cr_assert(holder_mounts_device(), "the holder has no copy of the engine's mount");

        engine_unmounts();
        expect_log("was let go by the engine (it unmounted the device, and others kept its filesystem past "
                   "SettleSec=)");
        expect_log("LET_GO=settled");
        expect_log("Freed thin device thin-leak");
        expect_log("dmwarden leaves it to the engine, whose next removal now succeeds");
        cr_assert_not(holder_mounts_device(), "the holder still has the mount");
        stop_daemon();
        cr_assert_eq(access(description, F_OK), 0, "a device the engine never asked to remove was removed");
}

/* A process using the device as a block device (a VM monitor the engine
 * started, say) is never taken for a leak by time alone. */
Test(let_go, a_block_device_user_never_settles) {
        uint64_t unmounted;

        start_world(HOLDER_BLOCK_DEVICE, "SettleSec=1s\n");
        engine_unmounts();
        unmounted = now_ms();
        expect_log("thin-leak: active → idle");
        /* Three settle times and a scan of our own making later... */
        while (now_ms() < unmounted + 3000)
                usleep(100 * 1000);
        cr_assert_null(strstr(world_log(&world), "was let go by the engine"), "a block-device user made a leak:\n%s",
                       world_log(&world));
        stop_daemon();
        cr_assert_eq(access(description, F_OK), 0);
}

/* containerd: `dmsetup remove --force` swaps the busy device's table for
 * "error". The device stays watched (it is the one the engine failed to
 * remove), its holder is freed, and it is removed. */
Test(let_go, a_forced_removal_is_a_leak_at_once) {
        /* Time alone would take an hour here: only the table can say it. */
        start_world(HOLDER_FILESYSTEM, "SettleSec=1h\n");
        engine_unmounts();
        expect_log("thin-leak: active → idle");

        describe_device("error");
        expect_log("was let go by the engine (its forced removal replaced the device's table with error)");
        expect_log("LET_GO=forced-remove");
        expect_log("Freed thin device thin-leak");
        expect_log("the thin volume stays in the pool until the engine deletes it");
        expect_log("give the space back to pool pool0");
        cr_assert_neq(access(description, F_OK), 0, "the forced-removed device was not removed");
        stop_daemon();
}

/* dmwardend's CPU time so far (user and system), in clock ticks. */
static unsigned long long daemon_cpu_ticks(void) {
        char path[64], buf[1024], *p;
        unsigned long long utime = 0, stime = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) world.pid);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        /* Fields 14 and 15, counted after the ")" that ends comm. */
        p = strrchr(buf, ')');
        cr_assert_not_null(p);
        cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime), 2);
        return utime + stime;
}

/* SettleSec=infinity turns the rule off: an operator who wants the
 * engine's own removal to be the only let-go (containerd: a stopped task
 * unmounts, the container's deletion removes). The held copy is no leak
 * by time, dmwardend does not spin waiting for a settle time that never
 * comes, and a forced removal is still seen at once. */
Test(let_go, settle_sec_infinity_never_settles) {
        unsigned long long cpu_before, cpu_used;
        uint64_t unmounted;

        start_world(HOLDER_FILESYSTEM, "SettleSec=infinity\n");
        engine_unmounts();
        expect_log("thin-leak: active → idle");
        cpu_before = daemon_cpu_ticks();
        unmounted = now_ms();
        while (now_ms() < unmounted + 3000)
                usleep(100 * 1000);
        cpu_used = daemon_cpu_ticks() - cpu_before;
        cr_assert_null(strstr(world_log(&world), "was let go by the engine"),
                       "SettleSec=infinity settled a device:\n%s", world_log(&world));
        cr_assert(holder_mounts_device(), "the holder lost its copy with no leak reported");
        /* Asking the kernel at 200 ms, doubling, is a few ioctls: far
         * below a second of CPU in three. */
        cr_assert_lt(cpu_used, (unsigned long long) sysconf(_SC_CLK_TCK) / 2,
                     "dmwardend used %llu ticks of CPU in 3 s waiting for a let-go (%ld a second)", cpu_used,
                     sysconf(_SC_CLK_TCK));

        describe_device("error");
        expect_log("LET_GO=forced-remove");
        expect_log("Freed thin device thin-leak");
        stop_daemon();
}
