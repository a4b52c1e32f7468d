/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The device watch against a source the test controls: what it does with
 * events whose names are not the kernel's, and with a device list that
 * fails. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libdevmapper.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "config/config.h"
#include "watch/device-source.h"
#include "watch/device-watch.h"

#define MAX_FAKE 4

/* The "kernel": a fixed set of devices the test edits between events. */
typedef struct FakeSource {
        DeviceSource base;
        const char *names[MAX_FAKE];
        dev_t devs[MAX_FAKE];
        uint64_t diskseqs[MAX_FAKE];
        int enumerate_error;
        unsigned n_queries;
} FakeSource;

static int fake_fill(FakeSource *f, size_t i, DeviceInfo *ret) {
        *ret = (DeviceInfo) {
                .name = strdup(f->names[i]),
                .uuid = strdup(""),
                .dev = f->devs[i],
                .diskseq = f->diskseqs[i],
                .target = strdup("thin"),
                .pool = strdup("pool"),
                .open_count = 0,
        };
        if (!ret->name || !ret->uuid || !ret->target || !ret->pool) {
                device_info_done(ret);
                return -ENOMEM;
        }
        return 0;
}

static int fake_start(DeviceSource *s, sd_event *event) {
        (void) s;
        (void) event;
        return 0;
}

static int fake_enumerate(DeviceSource *s, DeviceInfo **ret, size_t *ret_n) {
        FakeSource *f = (FakeSource *) s;
        DeviceInfo *infos = NULL;
        size_t n = 0;

        if (f->enumerate_error < 0)
                return f->enumerate_error;
        for (size_t i = 0; i < MAX_FAKE; i++) {
                DeviceInfo info;

                if (!f->names[i])
                        continue;
                cr_assert_eq(fake_fill(f, i, &info), 0);
                cr_assert_eq(device_infos_append(&infos, &n, &info), 0);
        }
        *ret = infos;
        *ret_n = n;
        return 0;
}

static int fake_query(DeviceSource *s, const char *name, DeviceInfo *ret) {
        FakeSource *f = (FakeSource *) s;

        f->n_queries++;
        for (size_t i = 0; i < MAX_FAKE; i++)
                if (f->names[i] && strcmp(f->names[i], name) == 0)
                        return fake_fill(f, i, ret);
        return -ENODEV;
}

static int fake_remove(DeviceSource *s, const char *name, bool deferred) {
        (void) s;
        (void) name;
        (void) deferred;
        return -EOPNOTSUPP;
}

static void fake_free(DeviceSource *s) {
        free(s);
}

static const DeviceSourceOps fake_ops = {
        .kind = "fake",
        .start = fake_start,
        .enumerate = fake_enumerate,
        .query = fake_query,
        .remove = fake_remove,
        .free = fake_free,
};

static sd_event *event;
static Config *config;
static FakeSource *fake;
static DeviceWatch *watch;
/* What the watch told, in order. */
static DeviceEvent events[16];
static size_t n_events;

static void record(DeviceWatch *w, Device *d, DeviceEvent ev, DeviceState old_state, void *userdata) {
        (void) w;
        (void) d;
        (void) old_state;
        (void) userdata;
        if (n_events < sizeof(events) / sizeof(events[0]))
                events[n_events] = ev;
        n_events++;
}

/* Two thin devices, one with a name udev would not keep as it is. */
static void start_watch(void) {
        cr_assert_eq(sd_event_new(&event), 0);
        cr_assert_eq(config_new(&config), 0);
        fake = calloc(1, sizeof(*fake));
        cr_assert_not_null(fake);
        fake->base.ops = &fake_ops;
        fake->names[0] = "bad\x80\xff trail ";
        fake->devs[0] = makedev(253, 4);
        fake->names[1] = "plain";
        fake->devs[1] = makedev(253, 5);
        fake->diskseqs[1] = 41;
        cr_assert_eq(device_watch_new(event, config, &fake->base, NULL, record, NULL, &watch), 0);
        cr_assert_eq(device_watch_start(watch), 0);
        n_events = 0;
}

static void stop_watch(void) {
        watch = device_watch_free(watch);
        config = config_free(config);
        event = sd_event_unref(event);
}

/* Runs whatever the loop has ready (the deferred pass), nothing that waits. */
static void run_ready(void) {
        for (int i = 0; i < 10 && sd_event_run(event, 0) > 0; i++)
                ;
}

static size_t n_watched(void) {
        size_t n;

        (void) device_watch_devices(watch, &n);
        return n;
}

TestSuite(device_watch, .init = start_watch, .fini = stop_watch);

Test(device_watch, a_device_gone_under_a_name_udev_rewrote_is_found_by_number) {
        cr_assert_eq(n_watched(), 2);
        cr_assert_not_null(device_watch_get(watch, "bad\x80\xff trail "));

        /* The kernel removed it; udev's remove event says DM_NAME=bad__ trail
         * (its rules replaced the bytes and cut the blank). */
        fake->names[0] = NULL;
        fake->base.on_changed(&fake->base, "bad__ trail", makedev(253, 4), fake->base.userdata);
        run_ready();
        cr_assert_null(device_watch_get(watch, "bad\x80\xff trail "), "the removed device is still watched");
        cr_assert_eq(n_watched(), 1);
        cr_assert_not_null(device_watch_get(watch, "plain"));
}

Test(device_watch, an_event_for_one_device_leaves_the_others_alone) {
        unsigned before = fake->n_queries;

        fake->base.on_changed(&fake->base, "plain", makedev(253, 5), fake->base.userdata);
        run_ready();
        cr_assert_eq(n_watched(), 2);
        /* "plain" alone is asked about again, not the device beside it. */
        cr_assert_eq(fake->n_queries - before, 1);
}

Test(device_watch, a_failed_device_list_keeps_the_known_devices) {
        /* What a libdevmapper list failure looks like from here. */
        fake->enumerate_error = -ENODEV;
        cr_assert_eq(device_watch_scan_all(watch, NULL, NULL), 0);
        run_ready();
        cr_assert_eq(n_watched(), 2, "a failed list dropped the devices");
        fake->enumerate_error = 0;
        fake->names[1] = NULL;
        cr_assert_eq(device_watch_scan_all(watch, NULL, NULL), 0);
        run_ready();
        cr_assert_eq(n_watched(), 1, "a list that works still drops what is gone");
}

/* Removed and created again under its name between two looks (the udev
 * events lost, or read late): the same number, device-mapper's lowest free
 * minor, but a new disk. */
Test(device_watch, a_device_made_again_under_its_name_is_a_new_device) {
        const Device *d;

        fake->diskseqs[1] = 57;
        fake->base.on_changed(&fake->base, "plain", makedev(253, 5), fake->base.userdata);
        run_ready();
        cr_assert_geq(n_events, 2, "told %zu events, not removed and added", n_events);
        cr_assert_eq(events[0], DEVICE_EVENT_REMOVED, "first told: %d", events[0]);
        cr_assert_eq(events[1], DEVICE_EVENT_ADDED, "then told: %d", events[1]);
        d = device_watch_get(watch, "plain");
        cr_assert_not_null(d);
        cr_assert_eq(d->info.diskseq, 57);
}

/* Without disk sequence numbers (kernels before 5.15), a new number. */
Test(device_watch, a_device_made_again_under_another_number_is_a_new_device) {
        fake->diskseqs[1] = 0;
        fake->devs[1] = makedev(253, 9);
        fake->base.on_changed(&fake->base, "plain", 0, fake->base.userdata);
        run_ready();
        cr_assert_geq(n_events, 2, "told %zu events, not removed and added", n_events);
        cr_assert_eq(events[0], DEVICE_EVENT_REMOVED, "first told: %d", events[0]);
        cr_assert_eq(events[1], DEVICE_EVENT_ADDED, "then told: %d", events[1]);
}

Test(device_watch, a_change_of_the_same_device_is_a_change) {
        fake->diskseqs[1] = 41;
        fake->base.on_changed(&fake->base, "plain", makedev(253, 5), fake->base.userdata);
        run_ready();
        for (size_t i = 0; i < n_events; i++)
                cr_assert(events[i] != DEVICE_EVENT_REMOVED && events[i] != DEVICE_EVENT_ADDED,
                          "the same device was told removed or added (event %zu: %d)", i, events[i]);
}

Test(device_source_dm, names_are_not_mangled) {
        DeviceSource *s = NULL;

        cr_assert_eq(device_source_dm_new(&s), 0);
        cr_assert_eq(dm_get_name_mangling_mode(), DM_STRING_MANGLING_NONE,
                     "libdevmapper would rewrite names with blanks or other bytes into \\xNN form");
        device_source_free(s);
}
