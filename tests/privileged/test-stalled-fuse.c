/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A FUSE server that stopped answering, as a hung FUSE or NFS server
 * does. A namespace pin below its mount: a plain holder scan that follows
 * the pin waits for good (the path walk asks the server again, as it must
 * with nothing cached), and a bounded scan gives up at its deadline, counts
 * its thread as stalled, and that thread ends once the server is gone. A
 * loop device backed by a file on it (LOOP_GET_STATUS64 stats the file,
 * and every scan looks at every loop device): dmwardend says its scan
 * stalled, goes on handling events, and stops cleanly. The plain scan
 * runs in a child under alarm(), so it cannot hang the suite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "bus-world.h"
#include "ctl-run.h"
#include "daemon-world.h"
#include "holders/holder-scan-bounded.h"
#include "loop-util.h"
#include "pin-util.h"
#include "shared/bus-api.h"
#include "stall-fuse.h"

#define DEADLINE_USEC (2 * USEC_PER_SEC)

typedef struct StallWorld {
        TestLoop loop;
        StallFuse fuse;
        char root[64];      /* a tmpfs here; the device's ext4 in the holder's namespace */
        pid_t holder;       /* its namespace has the FUSE mount and, under it, the pin */
} StallWorld;

static void holder_main(StallWorld *w, int ready_fd) {
        char dir[96], pin[112];
        int r;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(w->loop.fd);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
                _exit(10);
        /* The device mounted in here gives the scan its reason to look. */
        if (mount(w->loop.node, w->root, "ext4", 0, NULL) < 0)
                _exit(11);
        snprintf(dir, sizeof(dir), "%s/f", w->root);
        if (mkdir(dir, 0755) < 0 || stall_fuse_mount(&w->fuse, dir) < 0)
                _exit(12);
        close(w->fuse.dev_fd);
        snprintf(pin, sizeof(pin), "%s/d/pin", dir);
        r = pin_new_namespace(pin);
        if (r != 0)
                _exit(r);
        if (write(ready_fd, "x", 1) != 1)
                _exit(13);
        for (;;)
                pause();
}

static void world_new(StallWorld *w) {
        int p[2];
        char c;

        *w = (StallWorld) { .loop.fd = -1 };
        pin_world_enter("dmwarden-fuse", w->root, sizeof(w->root));
        test_loop_new(&w->loop, 16);
        cr_assert_eq(stall_fuse_start(&w->fuse), 0, "cannot start a FUSE server: %s", strerror(errno));

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        w->holder = fork();
        cr_assert_geq(w->holder, 0);
        if (w->holder == 0) {
                close(p[0]);
                holder_main(w, p[1]);
        }
        close(p[1]);
        /* Only the server keeps /dev/fuse: its end ends the connection. */
        close(w->fuse.dev_fd);
        w->fuse.dev_fd = -1;
        if (read(p[0], &c, 1) != 1) {
                int status = 0;

                (void) waitpid(w->holder, &status, 0);
                cr_assert_fail("setup failed with status %d", WEXITSTATUS(status));
        }
        close(p[0]);
        stall_fuse_stall(&w->fuse);
}

static void world_free(StallWorld *w) {
        stall_fuse_stop(&w->fuse);
        (void) kill(w->holder, SIGKILL);
        (void) waitpid(w->holder, NULL, 0);
        test_loop_release(&w->loop);
        cr_assert(wait_device_free(w->loop.node, 10000), "%s still busy after the test", w->loop.node);
        (void) umount2(w->root, MNT_DETACH);
        (void) rmdir(w->root);
}

Test(stalled_fuse, a_plain_scan_waits_on_the_server, .timeout = 120) {
        StallWorld w;
        pid_t pid;
        int status;

        world_new(&w);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                HolderScanOptions o = { .dev = w.loop.devnum, .source = MOUNT_SOURCE_MOUNTINFO };
                HolderScan *s = NULL;

                alarm(3);
                _exit(holder_scan(&o, &s) < 0 ? 1 : 0);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM,
                  "the scan did not wait on the hung server (status %#x): this test no longer shows the hazard",
                  status);
        world_free(&w);
}

Test(stalled_fuse, a_bounded_scan_gives_up_and_its_thread_ends_with_the_server, .timeout = 120) {
        _cleanup_(scan_limit_unrefp) ScanLimit *limit = NULL;
        HolderScanOptions o = { .source = MOUNT_SOURCE_MOUNTINFO };
        HolderScan *s = NULL;
        StallWorld w;
        usec_t t0, took;

        world_new(&w);
        o.dev = w.loop.devnum;
        cr_assert_eq(scan_limit_new(1, &limit), 0);
        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(holder_scan_bounded(&o, 0, DEADLINE_USEC, limit, &s), -ETIMEDOUT);
        took = now_usec(CLOCK_MONOTONIC) - t0;
        cr_assert_lt(took, DEADLINE_USEC + 5 * USEC_PER_SEC, "gave up only after %llu us",
                     (unsigned long long) took);
        cr_assert_eq(scan_limit_stalled(limit), 1);

        world_free(&w);
        for (unsigned i = 0; scan_limit_stalled(limit) != 0; i++) {
                cr_assert_lt(i, 1000, "the abandoned scan still waits after the server is gone");
                usleep(10 * 1000);
        }
}

/* Binds a free loop device to path, read-only, detached at its last close
 * (the returned fd). */
static int loop_attach(const char *path) {
        struct loop_config config = { .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR };
        char node[32];
        int control, n, fd;

        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        cr_assert_geq(control, 0);
        n = ioctl(control, LOOP_CTL_GET_FREE);
        cr_assert_geq(n, 0);
        close(control);
        snprintf(node, sizeof(node), "/dev/loop%d", n);
        fd = open(node, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0, "%s: %s", node, strerror(errno));
        config.fd = (uint32_t) open(path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq((int) config.fd, 0, "%s: %s", path, strerror(errno));
        cr_assert_eq(ioctl(fd, LOOP_CONFIGURE, &config), 0, "LOOP_CONFIGURE %s: %s", node, strerror(errno));
        close((int) config.fd);
        return fd;
}

#define WAIT_MS 20000
#define expect_log(world, text) \
        cr_assert(world_wait_log((world), (text), WAIT_MS), "no \"%s\" in the daemon's log:\n%s", (text), \
                  world_log(world))

static DaemonWorld d = { .notify_fd = -1 };
static TestBus test_bus;
static TestLoop device = { .fd = -1 };
static StallFuse fuse = { .dev_fd = -1, .control_fd = -1 };
static int loop_fd = -1;
static int loop_fd2 = -1;   /* a second one: a stall the guard has not seen yet */
static pid_t engine = -1;

/* Also after a failed assertion: nothing of this test outlives it. */
static void daemon_teardown(void) {
        stall_fuse_stop(&fuse);
        if (d.dir[0])
                world_destroy(&d);
        if (loop_fd >= 0)
                close(loop_fd);
        if (loop_fd2 >= 0)
                close(loop_fd2);
        if (engine > 0) {
                (void) kill(engine, SIGKILL);
                (void) waitpid(engine, NULL, 0);
        }
        test_loop_release(&device);
}

/* A device description for the directory source: opened by someone the
 * mounts cannot explain, so it must be scanned, and every scan looks at
 * every loop device, the stalled one included. */
static void write_stalled_device(const char *devices, const char *file, const char *name, dev_t dev) {
        char path[192];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", devices, file);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=%s\ndev=%u:%u\ntarget=thin\npool=pool0\nopen_count=1\n", name, major(dev), minor(dev));
        cr_assert_eq(fclose(f), 0);
}

/* dmwardend watching the device thin-stall while a loop device is backed
 * by a file on a FUSE server that stopped answering: its first scan
 * stalls. With bus (started for it), a second such loop device makes the
 * next scan, which goes round the first, stall too. devices gets the
 * directory source's path. */
static void start_stalled_daemon(const char *config, char *devices, size_t size, TestBus *bus) {
        char dir[96], path[160], image[112], asan[1024];
        FILE *f;

        /* The FUSE mount goes with this test's namespace, whatever happens. */
        cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
        cr_assert_eq(mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL), 0);
        world_init(&d);
        if (bus)
                test_bus_start(bus, d.dir);
        test_loop_new(&device, 16);
        world_path(&d, "f", dir, sizeof(dir));
        world_path(&d, "devices", devices, size);
        cr_assert_eq(mkdir(dir, 0755), 0);
        cr_assert_eq(mkdir(devices, 0755), 0);
        cr_assert_eq(stall_fuse_start(&fuse), 0, "cannot start a FUSE server: %s", strerror(errno));
        cr_assert_eq(stall_fuse_mount(&fuse, dir), 0, "cannot mount it: %s", strerror(errno));
        close(fuse.dev_fd);
        fuse.dev_fd = -1;
        snprintf(image, sizeof(image), "%s/img", dir);
        loop_fd = loop_attach(image);
        if (bus)
                loop_fd2 = loop_attach(image);
        stall_fuse_stall(&fuse);

        write_stalled_device(devices, "thin1", "thin-stall", device.devnum);
        d.device_source = devices;
        /* The engine namespace: ours, named by a process that only waits
         * (world_destroy() kills what engine.pid names). */
        engine = fork();
        cr_assert_geq(engine, 0);
        if (engine == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        world_path(&d, "engine.pid", path, sizeof(path));
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", (int) engine);
        cr_assert_eq(fclose(f), 0);
        world_write_config(&d, config);
        /* Under ASan, the leak check at exit stops every thread first, and
         * one waiting on a hung FUSE server cannot be stopped: it would
         * hang the exit this test checks. */
        snprintf(asan, sizeof(asan), "%s%sdetect_leaks=0", getenv("ASAN_OPTIONS") ?: "",
                 getenv("ASAN_OPTIONS") ? ":" : "");
        cr_assert_eq(setenv("ASAN_OPTIONS", asan, 1), 0);
        world_start(&d);
}

Test(stalled_fuse, dmwardend_reports_a_stalled_scan_and_goes_on, .timeout = 180, .fini = daemon_teardown) {
        char devices[96], path[192], image[192];
        FILE *f;

        start_stalled_daemon("[Engine]\nPIDFile=@DIR@/engine.pid\n[Watch]\nScanTimeoutSec=2s\n"
                             "[Policy]\nAction=report\n",
                             devices, sizeof(devices), NULL);
        expect_log(&d, "The holder scan of thin-stall did not finish in 2s");
        cr_assert(world_wait_notify(&d, "READY=1", WAIT_MS), "no READY=1; sent: %s", d.notes);

        /* The next scan goes round the loop device the first one waits on,
         * and finishes. */
        snprintf(path, sizeof(path), "%s/.thin2", devices);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=thin-stall2\ndev=%u:%u\ntarget=thin\npool=pool0\nopen_count=1\n",
                major(device.devnum), minor(device.devnum) + 1);
        cr_assert_eq(fclose(f), 0);
        snprintf(image, sizeof(image), "%s/thin2", devices);
        cr_assert_eq(rename(path, image), 0);
        expect_log(&d, "processes or loop devices that an earlier scan is still waiting on");
        expect_log(&d, "Scanned the holders of thin-stall2: ");
        cr_assert_null(strstr(world_log(&d), "The holder scan of thin-stall2 did not finish"),
                       "the second scan stalled too:\n%s", world_log(&d));

        /* The loop is free: an event is handled at once. */
        snprintf(path, sizeof(path), "%s/thin1", devices);
        cr_assert_eq(unlink(path), 0);
        expect_log(&d, "thin-stall");
        cr_assert(world_wait_log(&d, "no longer", WAIT_MS) || world_wait_log(&d, "gone", 1),
                  "the device's removal was not handled while a scan was stalled:\n%s", world_log(&d));

        /* A stuck thread does not keep dmwardend from stopping. */
        cr_assert_eq(world_stop(&d, WAIT_MS), 0, "dmwardend did not stop while a scan was stalled:\n%s",
                     world_log(&d));
}

static void bus_teardown(void) {
        daemon_teardown();
        test_bus_stop(&test_bus);
}

/* How long a person waits for `status` at most: a second, as in the VM.
 * Under ASan and UBSan every process starts and runs two to three times
 * slower, so 2.5 s there: still short of the 4 s a stalled scan lasts,
 * which the old loop made every call wait for. */
#if DMWARDEN_SANITIZED
#define STATUS_BOUND_USEC (2500 * USEC_PER_MSEC)
#else
#define STATUS_BOUND_USEC USEC_PER_SEC
#endif

/* How long `dmwardenctl status` and a D-Bus Get of a property take now. */
static usec_t time_status(sd_bus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        usec_t t0 = now_usec(CLOCK_MONOTONIC), took;
        char *out = NULL;
        uint32_t n = 0;
        int r;

        cr_assert_eq(RUN_CTL(0, &out, "status"), 0, "dmwardenctl status failed");
        free(out);
        r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WatchedDevices",
                                        &error, 'u', &n);
        cr_assert_geq(r, 0, "Get WatchedDevices: %s", error.message);
        took = now_usec(CLOCK_MONOTONIC) - t0;
        return took;
}

/* The scans of a device stall on the FUSE server, one after another (the
 * first on one loop device backed by it, the next, going round that one,
 * on the other); the bus answers within a second throughout, and Scan()
 * says which device stalled and for how long if it did. */
Test(stalled_fuse, the_bus_answers_while_a_scan_is_stalled, .timeout = 180, .fini = bus_teardown) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char devices[96], *out = NULL;
        usec_t start, worst = 0;
        unsigned n = 0;

        start_stalled_daemon("[Engine]\nPIDFile=@DIR@/engine.pid\n[Watch]\nScanTimeoutSec=4s\n"
                             "[Policy]\nAction=report\n",
                             devices, sizeof(devices), &test_bus);
        for (start = now_usec(CLOCK_MONOTONIC); RUN_CTL(0, &out, "status") != 0; free(out))
                cr_assert_lt(now_usec(CLOCK_MONOTONIC) - start, WAIT_MS * USEC_PER_MSEC,
                             "dmwardend never came on the bus:\n%s", world_log(&d));
        free(out);
        bus = test_bus_connect();
        cr_assert_not_null(bus, "cannot connect to the test bus: %s", strerror(errno));

        /* A second device: its scan stalls too, after the first one's. */
        write_stalled_device(devices, "thin2", "thin-stall2", makedev(7, 252));
        for (start = now_usec(CLOCK_MONOTONIC); now_usec(CLOCK_MONOTONIC) - start < 6 * USEC_PER_SEC; n++) {
                usec_t took = time_status(bus);

                worst = MAX(worst, took);
                cr_assert_lt(took, STATUS_BOUND_USEC, "status took %llu ms while a scan was stalled:\n%s",
                             (unsigned long long) (took / USEC_PER_MSEC), world_log(&d));
                usleep(100 * 1000);
        }
        cr_assert(world_wait_log(&d, "did not finish in 4s", WAIT_MS), "no scan stalled:\n%s", world_log(&d));
        cr_log_info("%u status calls while scans stalled, the slowest %llu ms", n,
                    (unsigned long long) (worst / USEC_PER_MSEC));

        /* Scan() waits for its own pass, and says why it failed if it did. */
        if (sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Scan", &error, NULL,
                               NULL) < 0 &&
            !sd_bus_error_has_name(&error, "org.dmwarden1.Error.Busy")) {
                cr_assert(sd_bus_error_has_name(&error, "org.dmwarden1.Error.ScanTimedOut"), "Scan(): %s: %s",
                          error.name, error.message);
                cr_assert(strstr(error.message, "thin-stall") && strstr(error.message, "did not finish in 4s"),
                          "Scan() said: %s", error.message);
        }
        sd_bus_error_free(&error);
        cr_assert_lt(time_status(bus), USEC_PER_SEC);
        cr_assert_eq(world_stop(&d, WAIT_MS), 0, "dmwardend did not stop while a scan was stalled:\n%s",
                     world_log(&d));
}
