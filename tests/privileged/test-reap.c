/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leak handling end to end on the real kernel, without device-mapper: a
 * loop device described to dmwardend as a thin device (the directory
 * source), held by a process in a mount namespace of its own, under each
 * Action=. What is checked is what an operator would: the holder's mount
 * table and life, the daemon's log (its alerts; the bus comes later), and
 * the device's removal (the directory source deletes its file). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/strv.h"
#include "config/config.h"
#include "daemon-world.h"
#include "dmwardend/manager.h"
#include "engine/namespace-pin.h"
#include "loop-util.h"
#include "reap/leak-handler.h"
#include "reap/reap-job.h"
#include "reap/reap-target.h"

#define WAIT_MS 20000
#define HOLDER_COMM "dmw-holder"

static DaemonWorld world;
static TestLoop loop = { .fd = -1 };
static char mnt[96], devices[96], description[128];
/* More lines for the device's description (its status line, say). */
static const char *description_extra = "";
static pid_t engine = -1, holder = -1;

static void kill_child(pid_t *pid) {
        if (*pid > 0) {
                (void) kill(*pid, SIGKILL);
                (void) waitpid(*pid, NULL, 0);
        }
        *pid = -1;
}

/* Autoclear would free the device number the moment the holder lets go,
 * and a test running alongside could bind and mount it before our daemon
 * looks again: the number must stay ours until teardown. */
static void keep_bound(void) {
        struct loop_info64 info;

        cr_assert_eq(ioctl(loop.fd, LOOP_GET_STATUS64, &info), 0, "LOOP_GET_STATUS64: %s", strerror(errno));
        info.lo_flags &= ~(unsigned) LO_FLAGS_AUTOCLEAR;
        cr_assert_eq(ioctl(loop.fd, LOOP_SET_STATUS64, &info), 0, "LOOP_SET_STATUS64: %s", strerror(errno));
}

/* Detaches the loop device now, or (if something still uses it) once the
 * last user goes. */
static void unbind(void) {
        int fd = open(loop.node, O_RDWR | O_CLOEXEC);

        if (fd >= 0) {
                (void) ioctl(fd, LOOP_CLR_FD);
                close(fd);
        }
}

static void setup(void) {
        world_init(&world);
        test_loop_new(&loop, 16);
        keep_bound();
        world_path(&world, "mnt", mnt, sizeof(mnt));
        world_path(&world, "devices", devices, sizeof(devices));
        snprintf(description, sizeof(description), "%s/thin1", devices);
        cr_assert_eq(mkdir(mnt, 0755), 0);
        cr_assert_eq(mkdir(devices, 0755), 0);
        world.device_source = devices;
}

static void teardown(void) {
        kill_child(&holder);
        kill_child(&engine);
        world_destroy(&world);
        test_loop_release(&loop);
        if (loop.node[0]) {
                /* Nothing may keep the device: not the daemon, not a helper. */
                bool free = wait_device_free(loop.node, WAIT_MS);

                unbind();
                cr_assert(free, "%s still busy after the test", loop.node);
        }
}

TestSuite(reap, .init = setup, .fini = teardown, .timeout = 120);

/* The engine stand-in: a process in our namespace named by PIDFile=; not
 * the holders' parent, so they are not "children of the engine". */
static void start_engine(void) {
        char path[128];
        FILE *f;

        engine = fork();
        cr_assert_geq(engine, 0);
        if (engine == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(loop.fd);  /* the engine holding the node would make it "active" */
                for (;;)
                        pause();
        }
        world_path(&world, "engine.pid", path, sizeof(path));
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", (int) engine);
        cr_assert_eq(fclose(f), 0);
}

/* The device as a device of target type; no open_count: unknown, so full
 * scans. */
static void describe_device_as(const char *target) {
        char tmp[160];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s/.thin1.tmp", devices);
        f = fopen(tmp, "we");
        cr_assert_not_null(f);
        /* Flagged for deferred removal: the engine let it go. */
        fprintf(f, "name=thin-leak\ndev=%u:%u\ntarget=%s\npool=pool0\ndeferred_remove=1\n%s", major(loop.devnum),
                minor(loop.devnum), target, description_extra);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, description), 0);
}

static void describe_device(void) {
        describe_device_as("thin");
}

typedef enum HolderKind {
        HOLDER_MOUNTED,         /* its own mount of the device, visible in its table */
        HOLDER_CWD_PINNED,      /* cwd inside a mount detached from every table */
        HOLDER_STUBBORN,        /* the same, and it ignores SIGTERM */
        HOLDER_THREAD_CWD,      /* only a thread's own cwd is in the detached mount */
} HolderKind;

static void *thread_cwd(void *arg) {
        int *ok = arg;

        /* A cwd of its own, that the process's /proc links do not show. */
        *ok = unshare(CLONE_FS) == 0 && chdir(mnt) == 0;
        for (;;)
                pause();
        return NULL;
}

/* A process in a namespace of its own holding the device; returns once it
 * does. */
static void start_holder(HolderKind kind) {
        int p[2];
        char c;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        holder = fork();
        cr_assert_geq(holder, 0);
        if (holder == 0) {
                sigset_t none;

                /* A manager in this process blocks the signals it handles;
                 * a holder starts with none blocked, as any process would. */
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) prctl(PR_SET_NAME, HOLDER_COMM);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                        _exit(10);
                if (mount(loop.node, mnt, "ext4", 0, NULL) < 0)
                        _exit(11);
                close(loop.fd);  /* only what the test means may hold it */
                /* In a directory of its own, so the pinned path says something. */
                if (kind == HOLDER_STUBBORN && signal(SIGTERM, SIG_IGN) == SIG_ERR)
                        _exit(14);
                if (kind == HOLDER_THREAD_CWD) {
                        static volatile int ok = -1;
                        pthread_t t;

                        if (pthread_create(&t, NULL, thread_cwd, (void *) &ok) != 0)
                                _exit(15);
                        while (ok < 0)
                                usleep(1000);
                        if (!ok || umount2(mnt, MNT_DETACH) < 0)
                                _exit(16);
                }
                if (IN_SET(kind, HOLDER_CWD_PINNED, HOLDER_STUBBORN) &&
                    (chdir(mnt) < 0 || (mkdir("held-dir", 0755) < 0 && errno != EEXIST) || chdir("held-dir") < 0 ||
                     umount2(mnt, MNT_DETACH) < 0))
                        _exit(12);
                if (write(p[1], "r", 1) != 1)
                        _exit(13);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the holder could not set up");
        close(p[0]);
}

static void start_daemon(const char *policy) {
        char config[512];

        /* We are in the engine namespace: our reference to the loop device
         * would be the engine's. */
        test_loop_release(&loop);
        start_engine();
        describe_device();
        snprintf(config, sizeof(config), "[Engine]\nPIDFile=@DIR@/engine.pid\n[Policy]\n%s", policy);
        world_write_config(&world, config);
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
}

#define expect_log(text) \
        cr_assert(world_wait_log(&world, (text), WAIT_MS), "no \"%s\" in the daemon's log:\n%s", (text), world_log(&world))

/* A clean exit, also with a leak stuck or jobs in flight (and under a
 * sanitizer, no error or leak). */
static void stop_daemon(void) {
        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop cleanly:\n%s", world_log(&world));
}

static bool holder_alive(void) {
        char path[64], buf[512], *state;
        FILE *f;

        if (waitpid(holder, NULL, WNOHANG) == holder)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) holder);
        f = fopen(path, "re");
        if (!f)
                return false;
        state = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
        fclose(f);
        return state && state[2] != 'Z';
}

static bool holder_mounts_device(void) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int) holder);
        return mountinfo_has_device(path, loop.devnum);
}

/* Polls for the holder's exit (it is our child). */
static bool wait_holder_gone(unsigned timeout_ms) {
        int pidfd = (int) syscall(SYS_pidfd_open, holder, 0);
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        bool gone;

        if (pidfd < 0)
                return errno == ESRCH;
        gone = poll(&pfd, 1, (int) timeout_ms) == 1;
        close(pidfd);
        if (gone) {
                (void) waitpid(holder, NULL, 0);
                holder = -1;
        }
        return gone;
}

static bool wait_description_gone(unsigned timeout_ms) {
        for (unsigned t = 0; t <= timeout_ms; t += 20) {
                if (access(description, F_OK) < 0 && errno == ENOENT)
                        return true;
                usleep(20 * 1000);
        }
        return false;
}

Test(reap, detach_frees_a_mount_visible_leak_and_the_device_is_removed) {
        start_holder(HOLDER_MOUNTED);
        start_daemon("Action=detach\n");

        expect_log("was let go by the engine (it asked for its removal, deferred while the device is busy) but is "
                   "still busy");
        expect_log("Freed thin device thin-leak");
        expect_log("HOLDER_COMM=" HOLDER_COMM);
        cr_assert(wait_description_gone(WAIT_MS), "the device was not removed");
        expect_log("was removed (removed by dmwarden); the engine can now delete its thin volume and give the "
                   "space back to pool pool0.");
        expect_log("DM_POOL=pool0");
        cr_assert(holder_alive(), "detach must leave the holder running");
        cr_assert_not(holder_mounts_device(), "the mount is still there inside the holder's namespace");
        stop_daemon();
}

Test(reap, remove_no_leaves_a_released_device_alone) {
        start_holder(HOLDER_MOUNTED);
        start_daemon("Action=detach\nRemove=no\n");

        expect_log("reaping → released");
        expect_log("Remove=no: remove it with dmsetup remove");
        /* Stopped, so whatever it would have done is done. */
        stop_daemon();
        cr_assert(holder_alive());
        cr_assert_eq(access(description, F_OK), 0, "Remove=no, yet the device was removed");
}

Test(reap, detach_cannot_free_a_cwd_pinned_leak_so_it_is_stuck) {
        start_holder(HOLDER_CWD_PINNED);
        start_daemon("Action=detach\n");

        expect_log("is stuck: PID");
        expect_log("HOLDER_REFERENCE=cwd");
        expect_log("keeps it busy through cwd /held-dir");
        expect_log("MOUNTPOINT=/held-dir");
        expect_log("reaping → stuck");
        cr_assert(holder_alive(), "detach must not touch the holder");
        cr_assert_eq(access(description, F_OK), 0, "a held device must not be removed");
        stop_daemon();
}

/* Action=kill against a holder of kind: it goes, as result says, and the
 * device is removed. */
static void expect_killed(HolderKind kind, const char *policy, const char *result) {
        start_holder(kind);
        start_daemon(policy);

        cr_assert(wait_holder_gone(WAIT_MS), "the holder still runs:\n%s", world_log(&world));
        expect_log(result);
        cr_assert(wait_description_gone(WAIT_MS), "the device was not removed:\n%s", world_log(&world));
        expect_log("was removed");
        stop_daemon();
}

Test(reap, kill_terminates_a_pinned_holder_and_the_device_is_removed) {
        expect_killed(HOLDER_CWD_PINNED, "Action=kill\nGraceSec=5s\n", "RESULT=ok (terminated by SIGTERM)");
}

Test(reap, protected_comm_is_refused_loudly_and_left_alone) {
        start_holder(HOLDER_CWD_PINNED);
        start_daemon("Action=kill\nGraceSec=1s\nProtectComms=" HOLDER_COMM "\n");

        expect_log("Could not kill PID");
        expect_log("refused (protected comm " HOLDER_COMM ")");
        expect_log("is stuck");
        cr_assert(holder_alive(), "a protected holder was killed");
        cr_assert_eq(access(description, F_OK), 0);
        stop_daemon();
}

Test(reap, report_only_tells) {
        start_holder(HOLDER_MOUNTED);
        start_daemon("Action=report\n");

        expect_log("Action=report: nothing is done");
        expect_log("is stuck");
        cr_assert(holder_alive());
        cr_assert(holder_mounts_device(), "report must not unmount");
        cr_assert_eq(access(description, F_OK), 0, "report must not remove");
        stop_daemon();
        cr_assert(holder_alive(), "stopping the daemon touched the holder");
}

Test(reap, kill_escalates_to_sigkill_after_grace) {
        expect_killed(HOLDER_STUBBORN, "Action=kill\nGraceSec=1s\n", "RESULT=ok (killed with SIGKILL after 1s)");
}

/* A namespace no process is in, kept alive by an nsfs bind mount in ours
 * (as snapd keeps them): detach enters it through the pin. */
Test(reap, detach_reaches_a_process_less_namespace_through_its_pin) {
        char pins[128], pin[160];

        world_path(&world, "pins", pins, sizeof(pins));
        snprintf(pin, sizeof(pin), "%s/holder.mnt", pins);
        cr_assert_eq(runtime_dir_prepare(pins), 0);
        start_holder(HOLDER_MOUNTED);
        cr_assert_eq(namespace_pin(holder, pin), 0);
        kill_child(&holder);
        start_daemon("Action=detach\n");

        expect_log("a mount namespace with no process");
        expect_log("RESULT=ok (unmounted ");
        cr_assert(wait_description_gone(WAIT_MS), "the device was not removed:\n%s", world_log(&world));
        cr_assert(wait_device_free(loop.node, WAIT_MS), "the mount in the pinned namespace is still there");
        cr_assert_eq(namespace_unpin(pin), 0);
        stop_daemon();
}

/* A namespace for the pin: private, with a tmpfs on dir that only it
 * sees, and the pin file there. Returns its process. */
static pid_t start_pin_owner(const char *dir, const char *pin) {
        pid_t pid;
        int p[2], fd;
        char c;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(loop.fd);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0 ||
                    mount("dmwarden-pins", dir, "tmpfs", 0, "size=1m") < 0)
                        _exit(10);
                fd = open(pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
                if (fd < 0 || write(p[1], "x", 1) != 1)
                        _exit(11);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the pin's namespace could not be made");
        close(p[0]);
        return pid;
}

/* Pins the holder's namespace at pin as seen in owner's namespace. */
static void pin_in_namespace_of(pid_t owner, const char *pin) {
        char path[64];
        pid_t pid;
        int status, fd;

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) owner);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
                        _exit(10);
                snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) holder);
                _exit(mount(path, pin, NULL, MS_BIND, NULL) < 0 ? 11 : 0);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pinning failed: %d", status);
}

/* The same, but pinned where a user's `unshare -m` would: in another
 * namespace, at a path that leads nowhere in dmwardend's. Detach reaches
 * the pin through the root of a process that sees it. */
Test(reap, detach_reaches_a_namespace_pinned_in_another_namespace) {
        char dir[128], pin[160];
        pid_t owner;
        cpu_set_t cpu;

        /* A namespace can only be pinned in an older one, and 6.18 numbers
         * them in per-CPU batches: both made on one CPU, in order. */
        CPU_ZERO(&cpu);
        CPU_SET(sched_getcpu(), &cpu);
        cr_assert_eq(sched_setaffinity(0, sizeof(cpu), &cpu), 0);
        world_path(&world, "elsewhere", dir, sizeof(dir));
        snprintf(pin, sizeof(pin), "%s/holder.mnt", dir);
        cr_assert_eq(mkdir(dir, 0755), 0);
        owner = start_pin_owner(dir, pin);
        start_holder(HOLDER_MOUNTED);
        pin_in_namespace_of(owner, pin);
        kill_child(&holder);
        start_daemon("Action=detach\n");

        expect_log("a mount namespace with no process");
        expect_log("RESULT=ok (unmounted ");
        cr_assert(wait_description_gone(WAIT_MS), "the device was not removed:\n%s", world_log(&world));
        cr_assert(wait_device_free(loop.node, WAIT_MS), "the mount in the pinned namespace is still there");
        kill_child(&owner);
        stop_daemon();
}

/* The same, kept alive by an open namespace fd (here our own). */
Test(reap, detach_reaches_a_namespace_held_by_an_fd) {
        char path[64];
        int ns_fd;

        start_holder(HOLDER_MOUNTED);
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) holder);
        ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(ns_fd, 0);
        kill_child(&holder);
        start_daemon("Action=detach\n");

        expect_log("a mount namespace with no process");
        expect_log("RESULT=ok (unmounted ");
        cr_assert(wait_description_gone(WAIT_MS), "the device was not removed:\n%s", world_log(&world));
        close(ns_fd);
        stop_daemon();
}

Test(reap, restart_unit_without_a_unit_fails_clearly) {
        start_holder(HOLDER_CWD_PINNED);
        start_daemon("Action=restart-unit\n");

        expect_log("Could not restart-unit PID");
        expect_log("is in no systemd unit");
        expect_log("reaping → stuck");
        cr_assert(holder_alive());
        stop_daemon();
}

/* While the engine starts, nothing is reaped: what looks leaked might be
 * its own before it is up. Once it runs, the leak is handled. */
Test(reap, nothing_happens_until_the_engine_runs) {
        char script[512], go[128];

        start_holder(HOLDER_MOUNTED);
        test_loop_release(&loop);
        describe_device();
        world_path(&world, "go", go, sizeof(go));
        snprintf(script, sizeof(script),
                 "#!/bin/bash\n"
                 "echo $$ > @DIR@/engine.pid\n"
                 "while [ ! -e @DIR@/go ]; do sleep 0.05; done\n"
                 "%s READY=1\n"
                 "while :; do sleep 0.1; done\n",
                 getenv("FAKE_NOTIFY"));
        world_write_script(&world, "engine.sh", script);
        world_write_config(&world, "[Engine]\nExecStart=@DIR@/engine.sh\n[Policy]\nAction=detach\n");
        world_start(&world);

        expect_log("Device thin-leak: idle → leaked.");
        expect_log("Leak handling waits until the engine runs.");
        cr_assert(holder_mounts_device(), "reaped while the engine was starting");
        cr_assert_null(strstr(world_log(&world), "was let go by the engine"), "alerted while the engine was starting");

        cr_assert_eq(close(open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "no READY=1; sent: %s", world.notes);
        expect_log("Freed thin device thin-leak");
        cr_assert(wait_description_gone(WAIT_MS), "the device was not removed:\n%s", world_log(&world));
        cr_assert(holder_alive());
        stop_daemon();
}

/* Runs m's loop until cond holds or timeout_ms passes. */
typedef enum Counter { HOLDERS_REAPED, DEVICES_REMOVED } Counter;

/* The counters behind HoldersReaped and DevicesRemoved. */
static uint64_t counter(Manager *m, Counter which) {
        uint64_t reaped, removed;

        leak_handler_counters(m->leak_handler, &reaped, &removed);
        return which == HOLDERS_REAPED ? reaped : removed;
}

static bool run_until(Manager *m, bool (*cond)(Manager *m), unsigned timeout_ms) {
        for (unsigned t = 0; t <= timeout_ms; t += 50) {
                if (cond(m))
                        return true;
                cr_assert_geq(sd_event_run(m->event, 50 * USEC_PER_MSEC), 0);
        }
        return cond(m);
}

static bool is_stuck(Manager *m) {
        Device *d = device_watch_get(m->watch, "thin-leak");

        return d && d->state == DEVICE_STUCK;
}

static bool is_removed(Manager *m) {
        return !device_watch_get(m->watch, "thin-leak");
}

static char cycle_name[32];

static bool cycle_done(Manager *m) {
        /* Only dmwardend's removal deletes the description. */
        return access(description, F_OK) < 0 && !device_watch_get(m->watch, cycle_name);
}

/* One leak cycle under Action=kill: a device (a new name each time)
 * described as let go, a holder of kind, the leak found, reaped, and the
 * device removed. */
static void leak_cycle(Manager *m, unsigned i, HolderKind kind) {
        char tmp[160];
        FILE *f;

        start_holder(kind);
        snprintf(cycle_name, sizeof(cycle_name), "thin-cycle-%u", i);
        snprintf(tmp, sizeof(tmp), "%s/.thin1.tmp", devices);
        f = fopen(tmp, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=%s\ndev=%u:%u\ntarget=thin\npool=pool0\ndeferred_remove=1\n", cycle_name,
                major(loop.devnum), minor(loop.devnum));
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, description), 0);
        cr_assert(run_until(m, cycle_done, WAIT_MS), "cycle %u: %s was not removed", i, cycle_name);
        if (kind == HOLDER_MOUNTED) {
                cr_assert(holder_alive(), "cycle %u: a detached holder was killed", i);
                cr_assert_not(holder_mounts_device(), "cycle %u: the holder still mounts the device", i);
                kill_child(&holder);
        } else
                cr_assert(wait_holder_gone(WAIT_MS), "cycle %u: the holder was not killed", i);
}

/* What a leak costs dmwardend's heap must come back when it is over: after
 * cycles to warm up, many more leave exactly as many bytes in use
 * (malloc's own count, not the resident size the allocator keeps). The
 * warm-up covers the daemon's arrays reaching the sizes they keep: one of
 * them grows once, by 16 bytes, between the 9th and the 16th cycle, and
 * never again (the same 16 bytes after 40 or 120 more cycles). The VM's
 * load-cycles scenario does the same at scale with the real sources and
 * the bus. Under ASan, malloc is the sanitizer's: mallinfo2() says
 * nothing and each cycle is slower; a few cycles, and LeakSanitizer
 * checks at exit. */
#if defined(__SANITIZE_ADDRESS__)
#define WARM_UP_CYCLES 4
#define MEASURED_CYCLES 4
#else
#define WARM_UP_CYCLES 16
#define MEASURED_CYCLES 40
#endif

Test(reap, leak_cycles_leave_the_heap_as_they_found_it) {
        _cleanup_strv_free_ char **errors = NULL;
        struct mallinfo2 before, after;
        Manager *m = NULL;
        Config *config = NULL;
        char path[128];
        unsigned i = 0;

        test_loop_release(&loop);
        start_engine();
        world_write_config(&world, "[Engine]\nPIDFile=@DIR@/engine.pid\n[Policy]\nAction=kill\nGraceSec=5s\n");
        world_path(&world, "dmwarden.conf", path, sizeof(path));
        cr_assert_eq(config_load(path, 0, &config, &errors), 0);
        cr_assert_eq(manager_new(path, config, &m), 0);
        cr_assert_eq(manager_set_device_source_dir(m, devices), 0);
        cr_assert_eq(manager_start(m), 0);

        for (; i < WARM_UP_CYCLES; i++)
                leak_cycle(m, i, i % 2 ? HOLDER_MOUNTED : HOLDER_CWD_PINNED);
        before = mallinfo2();
        for (; i < WARM_UP_CYCLES + MEASURED_CYCLES; i++)
                leak_cycle(m, i, i % 2 ? HOLDER_MOUNTED : HOLDER_CWD_PINNED);
        after = mallinfo2();
        cr_log_info("heap in use after %u cycles: %zu bytes, after %u: %zu bytes", WARM_UP_CYCLES, before.uordblks, i,
                    after.uordblks);
        cr_assert_eq(after.uordblks, before.uordblks, "%zd bytes more in use after %u more cycles",
                     (ssize_t) (after.uordblks - before.uordblks), i - WARM_UP_CYCLES);
        cr_assert_eq(counter(m, DEVICES_REMOVED), i);
        manager_free(m);
}

/* A manager in this process (Action=report) on the directory source, with
 * a mounted holder: the leak is on its way. */
static Manager *start_manager_with_mounted_leak(void) {
        _cleanup_strv_free_ char **errors = NULL;
        Manager *m = NULL;
        Config *config = NULL;
        char path[128];

        start_holder(HOLDER_MOUNTED);
        test_loop_release(&loop);
        start_engine();
        describe_device();
        world_write_config(&world, "[Engine]\nPIDFile=@DIR@/engine.pid\n[Policy]\nAction=report\n");
        world_path(&world, "dmwarden.conf", path, sizeof(path));
        cr_assert_eq(config_load(path, 0, &config, &errors), 0);
        cr_assert_eq(manager_new(path, config, &m), 0);
        cr_assert_eq(manager_set_device_source_dir(m, devices), 0);
        cr_assert_eq(manager_start(m), 0);
        return m;
}

/* What the bus's Reap and Remove call, on a manager in this process: the
 * operator's way out of a leak that policy only reports. */
Test(reap, operator_reap_and_remove_entry_points) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Manager *m;
        Device *d;

        m = start_manager_with_mounted_leak();

        cr_assert(run_until(m, is_stuck, WAIT_MS), "the leak never became stuck under Action=report");
        d = device_watch_get(m->watch, "thin-leak");
        cr_assert_str_eq(d->last_action, "report: nothing done (Action=report)");

        cr_assert_lt(leak_handler_remove(m->leak_handler, d, &error), 0);
        cr_assert_str_eq(error.name, "org.dmwarden1.Error.Busy", "a held device must not be removed");
        sd_bus_error_free(&error);
        cr_assert_lt(leak_handler_reap(m->leak_handler, d, _REAP_ACTION_MAX, &error), 0);
        sd_bus_error_free(&error);

        cr_assert_eq(leak_handler_reap(m->leak_handler, d, REAP_DETACH, &error), 0, "%s", strna(error.message));
        cr_assert_eq(d->state, DEVICE_REAPING);
        cr_assert_lt(leak_handler_reap(m->leak_handler, d, REAP_DETACH, &error), 0, "a second reap while one runs");
        cr_assert_str_eq(error.name, "org.dmwarden1.Error.Busy");
        cr_assert(run_until(m, is_removed, WAIT_MS), "the device was not removed after the reap");
        cr_assert(wait_description_gone(0));
        cr_assert_eq(counter(m, HOLDERS_REAPED), 1);
        cr_assert_eq(counter(m, DEVICES_REMOVED), 1);
        cr_assert(holder_alive());
        cr_assert_not(holder_mounts_device());
        manager_free(m);
}

static bool is_released(Manager *m) {
        Device *d = device_watch_get(m->watch, "thin-leak");

        return d && d->state == DEVICE_RELEASED;
}

static bool removal_failed;

/* Removed, and no removal failure was recorded on the way. */
static bool is_removed_cleanly(Manager *m) {
        Device *d = device_watch_get(m->watch, "thin-leak");

        if (d && d->last_action && strncmp(d->last_action, "remove: failed", 14) == 0)
                removal_failed = true;
        return !d;
}

/* A device the engine let go with deferred removal is removed by the kernel
 * at its last close: when the last holder goes, that may come after the scan
 * that found it free and before dmwarden asks for its removal. That is no
 * removal failure (seen in the VM as ENXIO alerts, under dmwardend restarts). */
Test(reap, a_device_the_kernel_removed_first_is_no_removal_failure) {
        Manager *m;

        m = start_manager_with_mounted_leak();
        cr_assert(run_until(m, is_stuck, WAIT_MS), "the leak never became stuck under Action=report");

        /* The holder goes; one loop iteration at a time, the scan that
         * finds the device free runs before the removal is asked for. */
        kill_child(&holder);
        cr_assert(run_until(m, is_released, WAIT_MS), "the device was not released when its holder went");
        /* What the kernel does at the last close, right in between. */
        cr_assert_eq(unlink(description), 0);
        removal_failed = false;
        cr_assert(run_until(m, is_removed_cleanly, WAIT_MS), "the device the kernel removed is still watched");
        cr_assert_not(removal_failed, "a device already gone counted as a failed removal");
        cr_assert_eq(counter(m, DEVICES_REMOVED), 1);
        manager_free(m);
}

/* Before a signal, the holder must still hold the device: also when only
 * one of its threads does, through a cwd of its own. */
Test(reap, a_thread_cwd_counts_as_holding) {
        ReapProcess p;

        start_holder(HOLDER_THREAD_CWD);
        cr_assert_eq(reap_process_open(holder, &p), 0);
        cr_assert_eq(reap_process_references(&p, loop.devnum), 1);
        cr_assert_eq(reap_process_references(&p, makedev(7, 255)), 0, "another device is not held");
        reap_process_done(&p);
}

/* A PID that names another process by the time we act: the decision is
 * taken on a pidfd of the process that exited, and nothing is sent to the
 * one that has (or, here, stands for) its PID now, though it does hold
 * the device. */
Test(reap, a_reused_pid_is_never_signalled) {
        static char *none[] = { NULL };
        ProtectPolicy policy = { .self_pid = getpid(), .protect_units = none, .protect_comms = none };
        ReapProcess p;
        char why[256];
        pid_t dead;
        int pidfd;

        start_holder(HOLDER_CWD_PINNED);
        dead = fork();
        cr_assert_geq(dead, 0);
        if (dead == 0)
                _exit(0);
        pidfd = (int) syscall(SYS_pidfd_open, dead, 0);
        cr_assert_geq(pidfd, 0);
        cr_assert_eq(waitpid(dead, NULL, 0), dead);

        /* Facts read about the holder, but the pidfd says its process is gone. */
        cr_assert_eq(reap_process_from_pidfd(pidfd, holder, &p), -ESRCH);

        /* And were the facts taken, the signal would still go nowhere. */
        cr_assert_eq(reap_process_open(holder, &p), 0);
        p.pidfd = safe_close(p.pidfd);
        dead = fork();
        cr_assert_geq(dead, 0);
        if (dead == 0)
                _exit(0);
        p.pidfd = (int) syscall(SYS_pidfd_open, dead, 0);
        cr_assert_geq(p.pidfd, 0);
        cr_assert_eq(waitpid(dead, NULL, 0), dead);
        cr_assert_eq(reap_process_signal_checked(&p, &policy, REAP_KILL, loop.devnum, SIGTERM, why, sizeof(why)),
                     -ESRCH, "%s", why);
        reap_process_done(&p);
        cr_assert(holder_alive(), "a process that merely has the PID was signalled");

        /* The control: on the holder's own pidfd the same call does signal. */
        cr_assert_eq(reap_process_open(holder, &p), 0);
        cr_assert_eq(reap_process_signal_checked(&p, &policy, REAP_KILL, loop.devnum, SIGTERM, why, sizeof(why)), 1,
                     "%s", why);
        reap_process_done(&p);
        cr_assert(wait_holder_gone(WAIT_MS));
}

/* Makes the next fork in this PID namespace take pid (ns_last_pid). */
static void set_next_pid(pid_t pid) {
        FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");

        cr_assert_not_null(f, "cannot open ns_last_pid: %m");
        cr_assert_gt(fprintf(f, "%d", (int) pid - 1), 0);
        cr_assert_eq(fclose(f), 0, "cannot write ns_last_pid: %m");
}

/* The same with the PID really reused: the holder's facts and pidfd are
 * taken (the scan), the holder dies, and its PID goes to a new process
 * that holds the device too, the worst case for a PID-based kill. The
 * action, taken on the old pidfd, sends nothing. */
Test(reap, a_pid_really_reused_by_another_holder_is_never_signalled) {
        static char *none[] = { NULL };
        ProtectPolicy policy = { .self_pid = getpid(), .protect_units = none, .protect_comms = none };
        ReapProcess p;
        char why[256];
        pid_t old;
        unsigned tries = 0;

        start_holder(HOLDER_MOUNTED);
        old = holder;
        cr_assert_eq(reap_process_open(old, &p), 0);
        cr_assert_eq(kill(old, SIGKILL), 0);
        cr_assert_eq(waitpid(old, NULL, 0), old);
        /* Another fork on the machine may take the PID first: try again. */
        do {
                if (tries > 0) {
                        (void) kill(holder, SIGKILL);
                        (void) waitpid(holder, NULL, 0);
                }
                set_next_pid(old);
                start_holder(HOLDER_MOUNTED);
        } while (holder != old && ++tries < 50);
        cr_assert_eq(holder, old, "PID %d was not reused in %u tries", (int) old, tries);
        cr_assert(holder_mounts_device(), "the new process with the old PID does not hold the device");

        cr_assert_eq(reap_process_signal_checked(&p, &policy, REAP_KILL, loop.devnum, SIGKILL, why, sizeof(why)),
                     -ESRCH, "%s", why);
        reap_process_done(&p);
        cr_assert(holder_alive(), "the process that merely reused the PID was signalled");
}

/* Another device appears: a full re-read, which would find whatever it
 * finds about thin-leak again; its "Watching" line says it ran. */
static void reread_all(void) {
        char path[160], final[160];
        FILE *f;

        snprintf(path, sizeof(path), "%s/.other.tmp", devices);
        snprintf(final, sizeof(final), "%s/other", devices);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=thin-other\ndev=7:250\ntarget=thin\npool=pool0\nopen_count=0\n");
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(path, final), 0);
        expect_log("Watching thin-other");
}

static unsigned count_in_log(const char *text) {
        unsigned n = 0;

        for (const char *p = strstr(world_log(&world), text); p; p = strstr(p + 1, text))
                n++;
        return n;
}

/* A stubborn holder in its grace period, so a reap is under way when the
 * device goes. */
static void start_reap_in_grace(void) {
        start_holder(HOLDER_STUBBORN);
        start_daemon("Action=kill\nGraceSec=5min\n");
        /* A cwd-pinned holder: no detach round; SIGTERM went (and is
         * ignored) as the round started, and the grace runs. */
        expect_log("Device thin-leak: leaked → reaping.");
}

/* The device disappears in the middle of a reap (its holder killed by
 * another hand, an operator's dmsetup remove): told once, nothing fails,
 * and the daemon goes on. */
Test(reap, a_device_gone_mid_reap_is_told_once) {
        start_reap_in_grace();
        cr_assert_eq(unlink(description), 0);
        expect_log("was removed (removed at its last close)");
        reread_all();
        cr_assert_eq(count_in_log("was removed"), 1, "%s", world_log(&world));
        cr_assert_eq(count_in_log("Could not"), 0, "%s", world_log(&world));
        cr_assert_eq(count_in_log("failed"), 0, "%s", world_log(&world));
        cr_assert(holder_alive(), "the grace period was not over; nothing may have killed the holder");
        stop_daemon();
}

/* A held device whose table is replaced by one the rules do not select
 * (here linear): no longer a watched device, but neither free nor removed,
 * and its holder is not ours to kill any more. */
Test(reap, a_device_that_stops_matching_mid_reap_is_not_called_removed) {
        start_reap_in_grace();
        describe_device_as("linear");
        expect_log("Device thin-leak is no longer a watched device (now target linear, pool pool0) while reaping; "
                   "leak handling of it stops and its holders are left alone.");
        reread_all();
        cr_assert_eq(count_in_log("no longer a watched device"), 1, "%s", world_log(&world));
        cr_assert_eq(count_in_log("was removed"), 0, "%s", world_log(&world));
        cr_assert_eq(count_in_log("is free"), 0, "%s", world_log(&world));
        cr_assert_eq(count_in_log("failed"), 0, "%s", world_log(&world));
        cr_assert(holder_alive());
        cr_assert_eq(access(description, F_OK), 0, "the device was removed");
        stop_daemon();
}

/* dmsetup remove --force on a held device mid-reap swaps its table for an
 * error target and leaves the device: still the same leak (a forced
 * let-go), so it stays watched and its reap goes on to the end. */
Test(reap, a_forced_removal_mid_reap_keeps_the_device_and_its_reap) {
        start_reap_in_grace();
        describe_device_as("error");
        reread_all();
        cr_assert_eq(count_in_log("no longer a watched device"), 0, "%s", world_log(&world));
        cr_assert_eq(count_in_log("was removed"), 0, "%s", world_log(&world));
        cr_assert_eq(count_in_log("is free"), 0, "%s", world_log(&world));
        cr_assert(holder_alive(), "the grace period was not over; nothing may have killed the holder");
        /* The reap is still ours: the holder's end releases the device. */
        cr_assert_eq(kill(holder, SIGKILL), 0);
        expect_log("Device thin-leak: reaping → released.");
        cr_assert_eq(count_in_log("failed"), 0, "%s", world_log(&world));
        stop_daemon();
}

/* A holder that ignores SIGTERM, ended by another hand during the grace
 * period: dmwarden did not end it, so no "terminated by SIGTERM", no
 * holder counted as reaped; the device is still released. */
Test(reap, a_holder_ignoring_sigterm_ended_by_another_hand_is_not_credited) {
        start_reap_in_grace();
        cr_assert_eq(kill(holder, SIGKILL), 0);
        expect_log("exited during the grace period, not by our SIGTERM, which it ignores");
        expect_log("Device thin-leak: reaping → released.");
        cr_assert_eq(count_in_log("terminated by SIGTERM"), 0, "%s", world_log(&world));
        stop_daemon();
}

/* --- a job's outcome when the loop is late ------------------------------- */

typedef struct Told {
        unsigned n;
        bool reaped;
        char result[256];
} Told;

static void on_told(ReapJob *j, const ReapOutcome *o, void *userdata) {
        Told *t = userdata;

        (void) j;
        t->n++;
        t->reaped = o->reaped;
        snprintf(t->result, sizeof(t->result), "%s", o->result);
}

static uint64_t mntns_of(pid_t pid) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) pid);
        cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
        return (uint64_t) st.st_ino;
}

/* A job of action against the holder, one reference of kind at path,
 * started on a loop that the test never runs. */
static ReapJob *start_job(sd_event *e, ReapAction action, const char *kind, const char *path, Told *told) {
        static char *none[] = { NULL };
        ProtectPolicy policy = {
                .self_pid = getpid(),
                .self_mntns = mntns_of(getpid()),
                .protect_units = none,
                .protect_comms = none,
        };
        HolderRecord row = {
                .pid = holder,
                .comm = (char *) HOLDER_COMM,
                .unit = (char *) "",
                .mntns = mntns_of(holder),
                .kind = (char *) kind,
                .path = (char *) path,
        };
        ReapJobParams p = {
                .event = e,
                .dev = loop.devnum,
                .action = action,
                .grace_usec = 10 * USEC_PER_SEC,
                .policy = &policy,
                .op_done = on_told,
                .userdata = told,
        };
        ReapJob *j = NULL;

        cr_assert_eq(reap_job_start(&p, &(HolderRecords) { .rows = &row, .n_rows = 1 }, &j), 1);
        return j;
}

/* The holder's exit and the device's removal can reach the daemon in one
 * wake-up, the removal first; the job goes with the device. What the job
 * did must be told all the same: flushing tells it without the loop. */
Test(reap, a_kill_is_told_when_the_device_goes_before_the_loop_saw_the_exit) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Told told = {};
        ReapJob *j;
        int pidfd;

        start_holder(HOLDER_CWD_PINNED);
        test_loop_release(&loop);
        cr_assert_eq(sd_event_new(&e), 0);
        pidfd = (int) syscall(SYS_pidfd_open, holder, 0);
        cr_assert_geq(pidfd, 0);
        j = start_job(e, REAP_KILL, "cwd", "/held-dir", &told);
        cr_assert_eq(poll(&(struct pollfd) { .fd = pidfd, .events = POLLIN }, 1, WAIT_MS), 1,
                     "SIGTERM did not end the holder");
        close(pidfd);
        cr_assert_eq(told.n, 0, "told before anything dispatched it: %s", told.result);

        reap_job_flush(j);
        cr_assert_eq(told.n, 1);
        cr_assert(told.reaped);
        cr_assert_str_eq(told.result, "ok (terminated by SIGTERM)");
        reap_job_flush(j);
        cr_assert_eq(told.n, 1, "told twice");
        reap_job_free(j);
}

Test(reap, a_detach_is_told_when_the_device_goes_before_the_loop_saw_the_helper_exit) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Told told = {};
        sigset_t chld;
        ReapJob *j;

        start_holder(HOLDER_MOUNTED);
        test_loop_release(&loop);
        cr_assert_eq(sd_event_new(&e), 0);
        /* sd-event watches children only with SIGCHLD blocked, as the manager has it. */
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        cr_assert_eq(sigprocmask(SIG_BLOCK, &chld, NULL), 0);
        j = start_job(e, REAP_DETACH, "mount", mnt, &told);
        /* Only flushing, never the loop, until the helper is done. */
        for (unsigned t = 0; told.n == 0 && t < WAIT_MS; t += 10) {
                reap_job_flush(j);
                if (told.n == 0)
                        usleep(10 * 1000);
        }
        cr_assert_eq(told.n, 1, "the helper's outcome was never told");
        cr_assert(told.reaped, "%s", told.result);
        cr_assert(strncmp(told.result, "ok (unmounted ", 14) == 0, "%s", told.result);
        cr_assert_not(holder_mounts_device());
        cr_assert(holder_alive());
        reap_job_free(j);
}

/* dmwarden.prom as the daemon last wrote it contains text (and so the
 * scrape node_exporter would serve). */
static bool metrics_contain(const char *text, unsigned timeout_ms) {
        char path[160], buf[16384];

        world_path(&world, "prom/dmwarden.prom", path, sizeof(path));
        for (unsigned t = 0;; t += 100) {
                FILE *f = fopen(path, "re");

                if (f) {
                        size_t n = fread(buf, 1, sizeof(buf) - 1, f);

                        fclose(f);
                        buf[n] = '\0';
                        if (strstr(buf, text))
                                return true;
                }
                if (t >= timeout_ms)
                        return false;
                usleep(100 * 1000);
        }
}

#define expect_metric(text) \
        cr_assert(metrics_contain((text), WAIT_MS), "no \"%s\" in dmwarden.prom:\n%s", (text), world_log(&world))

static void describe_pool(void) {
        char path[160];
        FILE *f;

        snprintf(path, sizeof(path), "%s/pool0", devices);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        /* 64 KiB blocks, 15000 of 16384 used: 91.5% full. */
        fprintf(f, "name=pool0\ndev=253:99\ntarget=thin-pool\nparams=7:1 7:0 128 32768 1 skip_block_zeroing\n"
                   "status=5 211/4096 15000/16384 - rw no_discard_passdown queue_if_no_space - 1024\n");
        cr_assert_eq(fclose(f), 0);
}

static void promtool_check(void) {
        char cmd[256];
        int r;

        if (system("command -v promtool >/dev/null") != 0) {
                cr_log_warn("promtool is not installed (Debian: prometheus); not checking the format.");
                return;
        }
        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s/prom/dmwarden.prom >&2", world.dir);
        r = system(cmd);
        cr_assert_eq(r, 0, "promtool check metrics failed on dmwarden.prom");
}

Test(reap, a_leak_is_priced_counted_and_its_pool_warned_about) {
        char prom[96];

        world_path(&world, "prom", prom, sizeof(prom));
        cr_assert_eq(mkdir(prom, 0755), 0);
        describe_pool();
        /* 2048 sectors mapped: 1 MiB. */
        description_extra = "status=2048 4095\n";
        start_holder(HOLDER_MOUNTED);
        start_daemon("Action=report\n[Pool]\nRefreshSec=1s\nWarnPercent=80\n"
                     "[Metrics]\nTextfileDirectory=@DIR@/prom\n");

        expect_log("It holds 1.0 MiB of pool pool0.");
        expect_log("Thin pool pool0 is past 80% full: data 91.5%, metadata 5.1%. Leaked devices hold 1.0 MiB of "
                   "it: thin-leak (1.0 MiB).");
        expect_metric("dmwarden_devices{state=\"stuck\"} 1\n");
        expect_metric("dmwarden_leaked_bytes 1048576\n");
        expect_metric("dmwarden_pool_leaked_bytes{pool=\"pool0\"} 1048576\n");
        expect_metric("dmwarden_pool_data_size_bytes{pool=\"pool0\"} 1073741824\n");
        expect_metric("dmwarden_pool_data_used_bytes{pool=\"pool0\"} 983040000\n");
        expect_metric("dmwarden_leaks_detected_total 1\n");
        promtool_check();

        /* The holder goes: the device is released and removed, and the
         * leak's bytes leave the metrics. */
        kill_child(&holder);
        expect_metric("dmwarden_devices{state=\"stuck\"} 0\n");
        expect_metric("dmwarden_leaked_bytes 0\n");
        expect_metric("dmwarden_devices_removed_total 1\n");
        cr_assert(!strstr(world_log(&world), "Thin pool pool0 is past 80% full: data 91.5%, metadata 5.1%. No"),
                  "warned twice:\n%s", world_log(&world));
        stop_daemon();
}
