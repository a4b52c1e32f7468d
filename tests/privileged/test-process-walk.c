/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How dmwardend's holder scans find processes ([Watch] ProcessWalk=): with
 * the BPF task walk where it loads, else by /proc, and by /proc when told
 * to; the bus, dmwardenctl status and the log say which, and why not BPF.
 * The walk is chosen at start-up, not by a reload. ProcessWalk=bpf where
 * the walk cannot load refuses to start. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-world.h"
#include "ctl-run.h"
#include "daemon-world.h"
#include "holders/task-walk.h"
#include "loop-util.h"
#include "shared/bus-api.h"

#define WAIT_MS 20000
/* What dmwardend exits with for a configuration it cannot run. */
#define EXIT_NOTCONFIGURED 6

static DaemonWorld world = { .notify_fd = -1 };
static TestBus test_bus;
static TestLoop loop = { .fd = -1 };
static sd_bus *bus;
static pid_t holder = -1;

static void teardown(void) {
        if (holder > 0) {
                (void) kill(holder, SIGKILL);
                (void) waitpid(holder, NULL, 0);
                holder = -1;
        }
        bus = sd_bus_flush_close_unref(bus);
        if (world.dir[0])
                world_destroy(&world);
        test_bus_stop(&test_bus);
        test_loop_release(&loop);
}

TestSuite(process_walk, .fini = teardown, .timeout = 120);

/* Whether the walk loads here, and if not why, as dmwardend would say. */
static bool walk_loads(char **ret_reason) {
        TaskWalk *w = NULL;
        int r;

        r = task_walk_open(&w, ret_reason);
        task_walk_unref(w);
        return r >= 0;
}

/* Watch-only mode with this test as "the engine", the [Watch] section
 * ending in watch_extra, and nothing reaped or removed. */
static void world_begin_config(const char *watch_extra) {
        char config[512];

        snprintf(config, sizeof(config),
                 "[Engine]\nPIDFile=@DIR@/self.pid\n[Watch]\n%s[Policy]\nAction=report\nRemove=no\n", watch_extra);
        world_write_config(&world, config);
}

/* A world with that configuration. */
static void world_begin(const char *watch_extra) {
        char pid_file[128];
        FILE *f;

        world_init(&world);
        cr_assert_eq(chmod(world.dir, 0755), 0);
        world_path(&world, "self.pid", pid_file, sizeof(pid_file));
        f = fopen(pid_file, "we");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", (int) getpid());
        cr_assert_eq(fclose(f), 0);
        world_begin_config(watch_extra);
}

/* A process in a mount namespace of its own (not the engine's) that holds
 * the loop device's node open, and its description for the directory
 * source, without an open count: the daemon must look at every process's
 * files to find it. */
static void hold_loop_device(const char *device_dir) {
        char path[256];
        int p[2];
        FILE *f;
        char c;

        test_loop_new(&loop, 16);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        holder = fork();
        cr_assert_geq(holder, 0);
        if (holder == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNS) < 0 || open(loop.node, O_RDONLY) < 0 || write(p[1], "r", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the holder could not open %s", loop.node);
        close(p[0]);
        close(loop.fd);  /* the holder's open keeps the device */
        loop.fd = -1;

        cr_assert_eq(mkdir(device_dir, 0755), 0);
        snprintf(path, sizeof(path), "%s/held", device_dir);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=thin-held\ndev=%u:%u\ntarget=thin\npool=pool0\n", major(loop.devnum), minor(loop.devnum));
        cr_assert_eq(fclose(f), 0);
}

/* Starts dmwardend on a private bus, fed by the held device, and waits for
 * it to be ready (its first scan done). */
static void start_daemon_on_bus(void) {
        static char device_dir[128];

        world_path(&world, "devices", device_dir, sizeof(device_dir));
        hold_loop_device(device_dir);
        test_bus_start(&test_bus, world.dir);
        world.device_source = device_dir;
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "dmwardend never became ready:\n%s\n%s", world.notes,
                  world_log(&world));
        bus = test_bus_connect();
        cr_assert_not_null(bus, "cannot connect to the test bus: %s", strerror(errno));
}

static char *manager_string(const char *property) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *value = NULL;

        cr_assert_geq(sd_bus_get_property_string(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, property,
                                                 &error, &value),
                      0, "%s: %s", property, error.message);
        return value;
}

/* Scan() as root; then the walks it made, and the walk the last scan used
 * says want; the held device's holder is found either way. */
static void scan_and_expect_walk(const char *want) {
        _cleanup_free_ char *walk = NULL, *json = NULL, *err = NULL, *out = NULL, *scan_err = NULL;
        char expect[256];
        uint64_t before;

        before = manager_proc_walks(bus);
        cr_assert_eq(RUN_CTL_ERR(0, &out, &scan_err, "scan"), 0, "%s", scan_err);
        cr_assert_gt(manager_proc_walks(bus), before, "Scan() scanned nothing");
        walk = manager_string("ProcessWalk");
        cr_assert_str_eq(walk, want, "the last scan's walk");

        cr_assert_eq(RUN_CTL_ERR(0, &json, &err, "holders", "thin-held", "-J"), 0, "%s", err);
        cr_assert(strstr(err, "at dmwardend's last scan"), "the daemon did not answer: %s", err);
        snprintf(expect, sizeof(expect), "(%d, \"device-node\") in [(h[\"pid\"], h[\"kind\"]) for h in d[\"holders\"]]",
                 (int) holder);
        cr_assert(json_check(json, expect), "the %s walk missed the holder: %s", want, json);
}

static void expect_status(const char *walk, const char *unavailable) {
        _cleanup_free_ char *json = NULL;
        char expect[512];

        cr_assert_eq(RUN_CTL(0, &json, "status", "--json"), 0);
        snprintf(expect, sizeof(expect),
                 "d[\"status\"][0][\"walk\"] == \"%s\" and (d[\"status\"][0][\"walk-unavailable\"] or \"\") == \"%s\"",
                 walk, unavailable);
        cr_assert(json_check(json, expect), "status --json said %s", json);
}

/* The default, auto: the BPF walk on a host where it loads (a kernel with
 * BTF, root in the initial PID namespace), else /proc, saying why. */
Test(process_walk, auto_takes_the_bpf_walk_where_it_loads) {
        _cleanup_free_ char *reason = NULL, *unavailable = NULL, *before_scan = NULL;
        bool loads = walk_loads(&reason);
        const char *want = loads ? "bpf" : "proc";

        if (!loads)
                cr_log_warn("The BPF task walk does not load here (%s): checking the fall-back to /proc.", reason);
        world_begin("");
        start_daemon_on_bus();

        unavailable = manager_string("ProcessWalkUnavailable");
        cr_assert_str_eq(unavailable, loads ? "" : reason);
        before_scan = manager_string("ProcessWalk");
        cr_assert_str_eq(before_scan, want);
        scan_and_expect_walk(want);
        expect_status(want, loads ? "" : reason);
        if (loads)
                cr_assert(strstr(world_log(&world),
                                 "Holder scans find processes with the BPF task walk (ProcessWalk=auto), and the "
                                 "namespaces with mounts to read with the BPF mount walk."),
                          "%s", world_log(&world));
        else
                cr_assert(strstr(world_log(&world), "the BPF task walk cannot be loaded"), "%s", world_log(&world));

        /* A reload cannot swap the walk: it says so, and scans go on. */
        world_begin_config("ProcessWalk=proc\n");
        cr_assert_eq(kill(world.pid, SIGHUP), 0);
        cr_assert(world_wait_log(&world, "ProcessWalk=proc applies from the next start", WAIT_MS), "%s",
                  world_log(&world));
        scan_and_expect_walk(want);
}

Test(process_walk, proc_is_taken_when_configured) {
        _cleanup_free_ char *unavailable = NULL;

        world_begin("ProcessWalk=proc\n");
        start_daemon_on_bus();

        unavailable = manager_string("ProcessWalkUnavailable");
        cr_assert_str_eq(unavailable, "disabled by ProcessWalk=proc");
        scan_and_expect_walk("proc");
        expect_status("proc", "disabled by ProcessWalk=proc");
        cr_assert(strstr(world_log(&world), "Holder scans read every process in /proc (ProcessWalk=proc)."), "%s",
                  world_log(&world));
}

/* In a PID namespace of its own the walk cannot load (the iterators would
 * name PIDs as the host sees them): told to use it, dmwardend says why and
 * exits as for a bad configuration, before it starts anything. */
Test(process_walk, bpf_that_cannot_load_refuses_to_start) {
        char wrapper[512];
        const char *binary = getenv("DMWARDEND");

        cr_assert_not_null(binary, "DMWARDEND is not set; run the tests through meson");
        world_begin("ProcessWalk=bpf\n");
        snprintf(wrapper, sizeof(wrapper), "#!/bin/sh\nexec unshare --pid --fork '%s' \"$@\"\n", binary);
        world_write_script(&world, "in-pid-namespace", wrapper);
        world_path(&world, "in-pid-namespace", wrapper, sizeof(wrapper));
        cr_assert_eq(setenv("DMWARDEND", wrapper, 1), 0);
        world_start(&world);
        cr_assert_eq(world_wait_exit(&world, WAIT_MS), EXIT_NOTCONFIGURED, "%s", world_log(&world));
        cr_assert(strstr(world_log(&world), "Refusing to start: ProcessWalk=bpf, but the BPF task walk cannot be "
                                            "loaded: "),
                  "%s", world_log(&world));
        cr_assert_null(strstr(world.notes, "READY=1"), "%s", world.notes);
}
