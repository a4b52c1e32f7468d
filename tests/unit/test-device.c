/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/escape.h"
#include "basic/strv.h"
#include "config/config.h"
#include "holders/mount-devices.h"
#include "watch/device-watch.h"
#include "watch/device.h"

static DeviceState next(DeviceState old, bool engine, bool others) {
        DeviceUse u = { .engine_holds = engine, .others_hold = others, .engine_let_go = true };

        return device_next_state(old, true, &u);
}

Test(device_life_cycle, engine_use_wins) {
        for (DeviceState s = 0; s < DEVICE_REMOVED; s++) {
                cr_assert_eq(next(s, true, false), DEVICE_ACTIVE, "from %s", device_state_to_string(s));
                cr_assert_eq(next(s, true, true), DEVICE_ACTIVE, "from %s", device_state_to_string(s));
        }
}

Test(device_life_cycle, let_go_with_references_is_a_leak) {
        cr_assert_eq(next(DEVICE_ACTIVE, false, true), DEVICE_LEAKED);
        cr_assert_eq(next(DEVICE_IDLE, false, true), DEVICE_LEAKED);
        cr_assert_eq(next(DEVICE_RELEASED, false, true), DEVICE_LEAKED, "held again after release");
        cr_assert_eq(next(DEVICE_LEAKED, false, true), DEVICE_LEAKED);
}

Test(device_life_cycle, reaping_and_stuck_end_by_the_reaper_or_release) {
        cr_assert_eq(next(DEVICE_REAPING, false, true), DEVICE_REAPING);
        cr_assert_eq(next(DEVICE_STUCK, false, true), DEVICE_STUCK);
        cr_assert_eq(next(DEVICE_REAPING, false, false), DEVICE_RELEASED);
        cr_assert_eq(next(DEVICE_STUCK, false, false), DEVICE_RELEASED);
}

Test(device_life_cycle, held_but_not_let_go_is_no_leak) {
        DeviceUse probe = { .others_hold = true };

        cr_assert_eq(device_next_state(DEVICE_IDLE, true, &probe), DEVICE_IDLE,
                     "udev probing a new device from its own namespace");
        cr_assert_eq(device_next_state(DEVICE_ACTIVE, true, &probe), DEVICE_IDLE,
                     "the engine unmounted it between create and start");
        probe.engine_let_go = true;
        cr_assert_eq(device_next_state(DEVICE_IDLE, true, &probe), DEVICE_LEAKED);
        cr_assert_eq(device_next_state(DEVICE_ACTIVE, true, &probe), DEVICE_LEAKED);
}

Test(device_let_go, the_kernel_traces_of_an_engine_letting_go) {
        DeviceInfo info = { .target = (char *) "thin" };
        const usec_t settle = 5 * USEC_PER_SEC, t0 = 100 * USEC_PER_SEC;

        cr_assert_eq(device_let_go(&info, 0, t0, settle), DEVICE_LET_GO_NONE, "in use, or held by nobody");
        cr_assert_eq(device_let_go(&info, t0, t0 + settle - 1, settle), DEVICE_LET_GO_NONE, "not settled yet");
        cr_assert_eq(device_let_go(&info, t0, t0 + settle, settle), DEVICE_LET_GO_SETTLED);
        cr_assert_not(device_info_removal_asked(&info), "time alone is no request to remove it");

        info.target = (char *) "error";
        cr_assert_eq(device_let_go(&info, 0, t0, settle), DEVICE_LET_GO_FORCED, "dmsetup remove --force");
        cr_assert(device_info_removal_asked(&info));

        info.deferred_remove = true;
        cr_assert_eq(device_let_go(&info, 0, t0, settle), DEVICE_LET_GO_DEFERRED);
        cr_assert(device_info_removal_asked(&info));
        cr_assert_str_eq(device_let_go_to_string(DEVICE_LET_GO_FORCED), "forced-remove");
}

Test(device_let_go, settle_sec_infinity_never_settles) {
        DeviceInfo info = { .target = (char *) "thin" };
        const usec_t t0 = 100 * USEC_PER_SEC;

        cr_assert_eq(device_let_go(&info, t0, t0 + 365 * USEC_PER_DAY, USEC_INFINITY), DEVICE_LET_GO_NONE,
                     "a year held is not infinity");
        cr_assert_eq(device_let_go(&info, 1, USEC_INFINITY - 1, USEC_INFINITY), DEVICE_LET_GO_NONE);
        info.target = (char *) "error";
        cr_assert_eq(device_let_go(&info, t0, t0, USEC_INFINITY), DEVICE_LET_GO_FORCED,
                     "the engine's own removal is still seen");
}

Test(device_let_go, only_filesystem_references_settle) {
        static const char *const fs[] = { "mount", "fd", "cwd", "root", "exe", "map", "pin-mount", "pin-fd" };
        static const char *const block[] = { "device-node", "stacked", "loop", "unexplained" };

        for (size_t i = 0; i < ELEMENTSOF(fs); i++)
                cr_assert(holder_record_uses_filesystem(&(HolderRecord) { .kind = (char *) fs[i] }), "%s", fs[i]);
        /* A VM monitor with the device open, a stacked device: the engine's
         * own consumers may use a device that way while it still wants it. */
        for (size_t i = 0; i < ELEMENTSOF(block); i++)
                cr_assert_not(holder_record_uses_filesystem(&(HolderRecord) { .kind = (char *) block[i] }), "%s",
                              block[i]);
}

Test(device_life_cycle, no_references) {
        cr_assert_eq(next(DEVICE_ACTIVE, false, false), DEVICE_IDLE, "the engine let go cleanly");
        cr_assert_eq(next(DEVICE_IDLE, false, false), DEVICE_IDLE);
        cr_assert_eq(next(DEVICE_LEAKED, false, false), DEVICE_RELEASED);
        cr_assert_eq(next(DEVICE_RELEASED, false, false), DEVICE_RELEASED, "released until removed");
}

Test(device_life_cycle, gone_is_removed) {
        DeviceUse u = { .engine_holds = true, .others_hold = true };

        for (DeviceState s = 0; s < _DEVICE_STATE_MAX; s++)
                cr_assert_eq(device_next_state(s, false, &u), DEVICE_REMOVED);
}

Test(device_life_cycle, leaked_since_is_kept_while_the_leak_lasts) {
        DeviceInfo info = { .name = (char *) "d", .dev = makedev(253, 3) };
        Device *d;

        cr_assert_eq(device_new(&info, &d), 0);
        cr_assert(device_set_state(d, DEVICE_ACTIVE, 100));
        cr_assert_eq(d->leaked_since_usec, 0);
        cr_assert(device_set_state(d, DEVICE_LEAKED, 200));
        cr_assert_eq(d->leaked_since_usec, 200);
        cr_assert(!device_set_state(d, DEVICE_LEAKED, 250), "same state is no change");
        cr_assert(device_set_state(d, DEVICE_REAPING, 300));
        cr_assert(device_set_state(d, DEVICE_STUCK, 400));
        cr_assert_eq(d->leaked_since_usec, 200);
        cr_assert(device_set_state(d, DEVICE_RELEASED, 500));
        cr_assert_eq(d->leaked_since_usec, 0);
        cr_assert_eq(d->state_since_usec, 500);
        device_free(d);
}

static int on_exit_unused(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) s;
        (void) fd;
        (void) revents;
        (void) userdata;
        return 0;
}

/* A pid that was ours and has been reaped: pidfd_open() says ESRCH. */
static pid_t reaped_pid(void) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(0);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        return pid;
}

Test(device_exit_watches, a_holder_gone_before_it_is_watched_asks_for_a_rescan) {
        DeviceInfo info = { .name = (char *) "d", .dev = makedev(253, 3) };
        HolderRecord rows[] = {
                { .pid = getpid() },
                { .pid = getpid() },    /* the same process again: one watch */
                { .pid = 0 },           /* no process: nothing to watch */
        };
        sd_event *event = NULL;
        Device *d;

        cr_assert_eq(sd_event_new(&event), 0);
        cr_assert_eq(device_new(&info, &d), 0);
        d->holders = (HolderRecords) { .rows = rows, .n_rows = ELEMENTSOF(rows) };
        device_add_exit_watches(d, event, on_exit_unused, NULL);
        cr_assert_eq(d->n_exit_watches, 1);
        cr_assert(!d->scan_pending, "every holder is watched");

        rows[1].pid = reaped_pid();
        device_add_exit_watches(d, event, on_exit_unused, NULL);
        cr_assert_eq(d->n_exit_watches, 1);
        cr_assert(d->scan_pending, "a holder already gone must queue a rescan");

        d->holders = (HolderRecords) {};
        device_free(d);
        sd_event_unref(event);
}

Test(device_life_cycle, state_names_round_trip) {
        for (DeviceState s = 0; s < _DEVICE_STATE_MAX; s++)
                cr_assert_eq(device_state_from_string(device_state_to_string(s)), s);
        cr_assert_eq(device_state_from_string("Leaked"), _DEVICE_STATE_INVALID);
        cr_assert_eq(device_state_from_string(NULL), _DEVICE_STATE_INVALID);
}

Test(mount_devices, sorted_unique_and_strict) {
        const char *mi =
                "22 1 8:3 / / rw - ext4 /dev/sda3 rw\n"
                "30 22 253:7 /rootfs /var/lib/docker/devicemapper/mnt/x\\040y rw - xfs /dev/mapper/d rw\n"
                "31 22 0:21 / /proc rw - proc proc rw\n"
                "32 30 253:7 / /mnt/again rw - xfs /dev/mapper/d rw\n";
        DevSet s = {};

        cr_assert_eq(mountinfo_parse_devices(mi, &s), 0);
        cr_assert_eq(s.n, 3);
        cr_assert_eq(s.devs[0], makedev(0, 21));
        cr_assert(dev_set_contains(&s, makedev(253, 7)));
        cr_assert(dev_set_contains(&s, makedev(8, 3)));
        cr_assert(!dev_set_contains(&s, makedev(253, 8)));
        dev_set_done(&s);

        cr_assert_eq(mountinfo_parse_devices("", &s), 0);
        cr_assert_eq(s.n, 0);
        cr_assert(!dev_set_contains(&s, makedev(8, 3)));
        cr_assert_eq(mountinfo_parse_devices("22 1 8", &s), -EBADMSG, "a cut-off line is an error");
        cr_assert_eq(mountinfo_parse_devices("22 1 x:y / / rw - a b c\n", &s), -EBADMSG);
        cr_assert_eq(mountinfo_parse_devices("22 1 8:1", &s), -EBADMSG, "a line cut after the device");
        cr_assert_eq(mountinfo_parse_devices("22 1 4294967296:0 / / rw - a b c\n", &s), -EBADMSG,
                     "a major beyond 32 bits");
        cr_assert_eq(mountinfo_parse_devices("22 1 4294967295:1048575 / / rw - a b c\n", &s), 0);
        cr_assert(dev_set_contains(&s, makedev(4294967295u, 1048575)));
        dev_set_done(&s);
}

Test(cunescape, inverse_of_cescape) {
        const char *hostile[] = { "plain", "with space", "new\nline", "tab\there", "back\\slash",
                                  "\xff\xfe not utf-8", "100%", "caf\xc3\xa9" };

        for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
                char *e = cescape(hostile[i]), *u = NULL;

                cr_assert_not_null(e);
                cr_assert_eq(cunescape(e, &u), 0, "%s", e);
                cr_assert_str_eq(u, hostile[i]);
                free(e);
                free(u);
        }
}

Test(cunescape, rejects_bad_escapes) {
        char *u = NULL;

        cr_assert_eq(cunescape("a\\", &u), -EINVAL);
        cr_assert_eq(cunescape("a\\q", &u), -EINVAL);
        cr_assert_eq(cunescape("a\\x4", &u), -EINVAL);
        cr_assert_eq(cunescape("a\\x00", &u), -EINVAL, "no NUL inside a name");
        cr_assert_eq(cunescape("a\\x4g", &u), -EINVAL);
        cr_assert_null(u);
}

static Config *config_with(const char *targets, const char *names, const char *uuids, const char *pools) {
        Config *c;

        cr_assert_eq(config_new(&c), 0);
        if (targets) {
                c->targets = strv_free(c->targets);
                cr_assert_eq(strv_extend(&c->targets, targets), 0);
        }
        if (names)
                cr_assert_eq(strv_extend(&c->names, names), 0);
        if (uuids)
                cr_assert_eq(strv_extend(&c->uuid_prefixes, uuids), 0);
        if (pools)
                cr_assert_eq(strv_extend(&c->pools, pools), 0);
        return c;
}

Test(watch_rules, default_is_every_thin_device) {
        Config *c = config_with(NULL, NULL, NULL, NULL);
        DeviceInfo thin = { .name = (char *) "docker-8:1-1-abc", .uuid = (char *) "", .target = (char *) "thin",
                            .pool = (char *) "docker-8:1-1-pool" };
        DeviceInfo linear = thin;

        linear.target = (char *) "linear";
        cr_assert(device_watch_matches(c, &thin));
        cr_assert(!device_watch_matches(c, &linear));
        config_free(c);
}

Test(watch_rules, names_uuids_and_pools) {
        Config *c = config_with("thin", "docker-*", "LVM-", "*-pool");
        DeviceInfo d = { .name = (char *) "docker-1", .uuid = (char *) "LVM-abc", .target = (char *) "thin",
                         .pool = (char *) "vg-pool" };

        cr_assert(device_watch_matches(c, &d));
        d.name = (char *) "other";
        cr_assert(!device_watch_matches(c, &d), "name glob");
        d.name = (char *) "docker-1";
        d.uuid = (char *) "CRYPT-x";
        cr_assert(!device_watch_matches(c, &d), "UUID prefix");
        d.uuid = (char *) "LVM-abc";
        d.pool = (char *) "";
        cr_assert(!device_watch_matches(c, &d), "a device without pool does not match a pool rule");
        config_free(c);
}
