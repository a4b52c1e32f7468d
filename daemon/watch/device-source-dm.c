/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The real device source: udev tells when a device-mapper device came,
 * changed or went; libdevmapper says what it is now. */
#include <errno.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <libudev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "watch/device-source.h"

/* udev's confirmation of a removal we asked for (libdevmapper's cookie, a
 * SysV semaphore), checked on a timer: dm_udev_wait() would block the loop
 * for as long as udev takes, forever if it hangs. */
typedef struct UdevWait {
        uint32_t cookie;
        usec_t deadline;                /* CLOCK_MONOTONIC */
} UdevWait;

#define UDEV_POLL_USEC (100 * USEC_PER_MSEC)
#define UDEV_CONFIRM_USEC (30 * USEC_PER_SEC)

typedef struct DmSource {
        DeviceSource base;
        sd_event *event;
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *io;
        size_t buffer;                  /* bytes asked for the receive buffer */
        UdevWait *waits;
        size_t n_waits;
        sd_event_source *wait_timer;
} DmSource;

DEFINE_TRIVIAL_CLEANUP_FUNC(struct dm_task *, dm_task_destroy);

/* libdevmapper logs to stderr by default; its messages are ours at debug
 * level, and our callers say what failed. */
_printf_(5, 6) static void dm_log_debug(int level, const char *file, int line, int dm_errno_or_class, const char *f, ...) {
        char buf[512];
        va_list ap;

        (void) level;
        (void) dm_errno_or_class;
        va_start(ap, f);
        (void) vsnprintf(buf, sizeof(buf), f, ap);
        va_end(ap);
        log_debug("libdevmapper %s:%d: %s", file, line, buf);
}

static int dm_task_new_named(int type, const char *name, struct dm_task **ret) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = dm_task_create(type);

        if (!dmt)
                return -ENOMEM;
        if (name && !dm_task_set_name(dmt, name))
                return -EINVAL;
        *ret = TAKE_PTR(dmt);
        return 0;
}

/* The name of the pool behind "MAJ:MIN ..." thin parameters. */
static int pool_name(const char *params, char **ret) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        unsigned ma, mi;
        struct dm_info info;
        const char *name;
        int r;

        if (!params || sscanf(params, "%u:%u", &ma, &mi) != 2)
                return -EINVAL;
        r = dm_task_new_named(DM_DEVICE_INFO, NULL, &dmt);
        if (r < 0)
                return r;
        if (dm_task_set_major(dmt, (int) ma) && dm_task_set_minor(dmt, (int) mi) && dm_task_run(dmt) &&
            dm_task_get_info(dmt, &info) && info.exists && (name = dm_task_get_name(dmt)) && *name)
                *ret = strdup(name);
        else if (asprintf(ret, "%u:%u", ma, mi) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

/* The first target's status line, without the metadata commit a thin
 * pool's status would otherwise do first (DM_NOFLUSH_FLAG): a read, not
 * a write. Its errors leave the space unknown, they never fail a query. */
static void query_status(const char *name, DeviceInfo *info, const char *params) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        uint64_t start, length;
        char *type = NULL, *status = NULL;
        int r;

        info->mapped_bytes = THIN_BYTES_UNKNOWN;
        if (dm_task_new_named(DM_DEVICE_STATUS, name, &dmt) < 0 || !dm_task_no_flush(dmt) || !dm_task_run(dmt))
                return;
        (void) dm_get_next_target(dmt, NULL, &start, &length, &type, &status);
        if (!type || !streq(type, info->target))
                return;  /* its table changed between the two calls */
        r = device_info_apply_status(info, params, status);
        if (r < 0)
                log_debug_errno(r, "Cannot parse the status of %s, \"%s\": %m", name, status ?: "");
}

static int query_table(const char *name, DeviceInfo *info) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        uint64_t start, length;
        char *type = NULL, *params = NULL;
        int r;

        r = dm_task_new_named(DM_DEVICE_TABLE, name, &dmt);
        if (r < 0)
                return r;
        if (!dm_task_run(dmt))
                return -EIO;
        (void) dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
        info->target = strdup(type ?: "");
        if (!info->target)
                return -ENOMEM;
        query_status(name, info, params);
        if (type && streq(type, DEVICE_TARGET_THIN))
                return pool_name(params, &info->pool);
        info->pool = strdup("");
        return info->pool ? 0 : -ENOMEM;
}

/* The disk's sequence number from sysfs (the kernel's own tree, not a path
 * anyone else chose); 0 where the kernel has none (before 5.15). */
static uint64_t read_diskseq(dev_t dev) {
        _cleanup_free_ char *line = NULL;
        char path[64], *end;
        unsigned long long seq;

        (void) snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/diskseq", major(dev), minor(dev));
        if (read_line_at(AT_FDCWD, path, &line) < 0)
                return 0;
        errno = 0;
        seq = strtoull(line, &end, 10);
        return errno == 0 && end != line && *end == '\0' ? seq : 0;
}

static int dm_source_query(DeviceSource *s, const char *name, DeviceInfo *ret) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        _cleanup_(device_info_done) DeviceInfo info = {};
        struct dm_info di;
        const char *uuid;
        int r;

        (void) s;
        if (access("/dev/mapper/control", F_OK) < 0)
                return -ENODEV;
        r = dm_task_new_named(DM_DEVICE_INFO, name, &dmt);
        if (r < 0)
                return r;
        if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &di))
                return log_debug_errno(SYNTHETIC_ERRNO(EIO), "device-mapper cannot tell about %s.", name);
        if (!di.exists)
                return -ENODEV;
        uuid = dm_task_get_uuid(dmt);
        info.name = strdup(name);
        info.uuid = strdup(uuid ?: "");
        if (!info.name || !info.uuid)
                return -ENOMEM;
        info.dev = makedev((unsigned) di.major, (unsigned) di.minor);
        info.diskseq = read_diskseq(info.dev);
        info.open_count = (unsigned) di.open_count;
        info.suspended = di.suspended;
        info.deferred_remove = di.deferred_remove;

        r = query_table(name, &info);
        if (r == -EIO)
                return -ENODEV;  /* removed between the two calls */
        if (r < 0)
                return r;
        *ret = TAKE_GENERIC(info, (DeviceInfo) {});
        return 0;
}

static int dm_source_enumerate(DeviceSource *s, DeviceInfo **ret, size_t *ret_n) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        DeviceInfo *infos = NULL;
        size_t n = 0;
        struct dm_names *names;
        int r;

        /* Without the control node libdevmapper would try to create it and
         * load the module: not our business on a kernel without it. */
        if (access("/dev/mapper/control", F_OK) < 0)
                return -ENODEV;
        r = dm_task_new_named(DM_DEVICE_LIST, NULL, &dmt);
        if (r < 0)
                return r;
        if (!dm_task_run(dmt) || !(names = dm_task_get_names(dmt)))
                return -ENODEV;  /* no device-mapper in this kernel */

        for (bool more = names->dev != 0; more;
             names = (struct dm_names *) ((char *) names + names->next)) {
                DeviceInfo info;

                more = names->next != 0;
                r = dm_source_query(s, names->name, &info);
                if (r == -ENODEV)
                        continue;  /* gone since the list */
                if (r < 0) {
                        device_infos_free(infos, n);
                        return r;
                }
                r = device_infos_append(&infos, &n, &info);
                if (r < 0) {
                        device_infos_free(infos, n);
                        return r;
                }
        }
        *ret = infos;
        *ret_n = n;
        return 0;
}

/* The kernel's name of device-mapper device dev, NULL if there is none (or
 * no memory: the caller falls back on what udev said). */
static char *kernel_name(dev_t dev) {
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        struct dm_info info;
        const char *name;

        if (dm_task_new_named(DM_DEVICE_INFO, NULL, &dmt) < 0)
                return NULL;
        if (!dm_task_set_major(dmt, (int) major(dev)) || !dm_task_set_minor(dmt, (int) minor(dev)) ||
            !dm_task_no_open_count(dmt) || !dm_task_run(dmt) || !dm_task_get_info(dmt, &info) || !info.exists)
                return NULL;
        name = dm_task_get_name(dmt);
        return name && *name ? strdup(name) : NULL;
}

/* Whether udev is done with cookie; past its deadline, it is released as
 * udev would have, so no semaphore outlives us. Never blocks: the wait is
 * for zero only once the value says nothing is pending. */
static bool udev_wait_done(const UdevWait *u, usec_t now) {
        int ready = 0;

        if (dm_udev_wait_immediate(u->cookie, &ready) && ready)
                return true;
        if (now < u->deadline)
                return false;
        log_warning("udev did not confirm a device removal within %llu s; not waiting for it any longer.",
                    (unsigned long long) (UDEV_CONFIRM_USEC / USEC_PER_SEC));
        (void) dm_udev_complete(u->cookie);
        (void) dm_udev_wait_immediate(u->cookie, &ready);
        return true;
}

static int on_wait_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        DmSource *d = ASSERT_PTR(userdata);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        size_t kept = 0;

        (void) usec;
        for (size_t i = 0; i < d->n_waits; i++)
                if (!udev_wait_done(&d->waits[i], now))
                        d->waits[kept++] = d->waits[i];
        d->n_waits = kept;
        if (kept == 0)
                return sd_event_source_set_enabled(es, SD_EVENT_OFF);
        (void) sd_event_source_set_time_relative(es, UDEV_POLL_USEC);
        return sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
}

static int watch_cookie(DmSource *d, uint32_t cookie) {
        UdevWait u = { .cookie = cookie, .deadline = now_usec(CLOCK_MONOTONIC) + UDEV_CONFIRM_USEC };
        int r;

        r = array_append((void **) &d->waits, &d->n_waits, sizeof(UdevWait), &u);
        if (r < 0)
                return r;
        if (!d->wait_timer)
                return sd_event_add_time_relative(d->event, &d->wait_timer, CLOCK_MONOTONIC, UDEV_POLL_USEC, 0,
                                                  on_wait_timer, d);
        if (sd_event_source_get_enabled(d->wait_timer, NULL) > 0)
                return 0;
        (void) sd_event_source_set_time_relative(d->wait_timer, UDEV_POLL_USEC);
        return sd_event_source_set_enabled(d->wait_timer, SD_EVENT_ONESHOT);
}

/* One removal ioctl, no retries in here: libdevmapper's own retries
 * (dm_task_retry_remove(): 25 tries 200 ms apart) would sleep in the event
 * loop; the caller retries a busy device on a timer instead. */
static int dm_source_remove(DeviceSource *s, const char *name, bool deferred) {
        DmSource *d = (DmSource *) s;
        _cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
        uint32_t cookie = 0;
        int r;

        r = dm_task_new_named(DM_DEVICE_REMOVE, name, &dmt);
        if (r < 0)
                return r;
        if (deferred && !dm_task_deferred_remove(dmt))
                return -EINVAL;
        /* Let udev handle the node, as dmsetup does; its confirmation is
         * checked on a timer (watch_cookie()). */
        if (!dm_task_set_cookie(dmt, &cookie, 0))
                return -EIO;
        r = dm_task_run(dmt) ? 0 : -(dm_task_get_errno(dmt) ?: EIO);
        if (!d->event || watch_cookie(d, cookie) < 0) {
                /* Cannot watch it: release it now rather than leak it. */
                int ready;

                (void) dm_udev_complete(cookie);
                (void) dm_udev_wait_immediate(cookie, &ready);
        }
        /* The kernel knows no device by that name (any more): one flagged for
         * deferred removal goes at its last close, which may come between
         * the scan that found it free and this call. */
        if (r == -ENXIO)
                return -ENODEV;
        return r;
}

static int on_udev(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        DmSource *d = ASSERT_PTR(userdata);

        (void) es;
        (void) fd;
        (void) revents;
        for (;;) {
                struct udev_device *dev;
                _cleanup_free_ char *kname = NULL;
                const char *name, *sysname;
                dev_t devnum;

                errno = 0;
                dev = udev_monitor_receive_device(d->monitor);
                if (!dev) {
                        if (errno == ENOBUFS) {
                                log_warning("The udev monitor overflowed; re-reading every device.");
                                d->base.on_changed(&d->base, NULL, 0, d->base.userdata);
                                continue;
                        }
                        return 0;  /* EAGAIN: drained */
                }
                name = udev_device_get_property_value(dev, "DM_NAME");
                sysname = udev_device_get_sysname(dev);
                devnum = udev_device_get_devnum(dev);
                /* udev's DM_NAME went through its rules, which write "bad\x80"
                 * as "bad_" and drop a trailing blank: ask the kernel what
                 * the device is called. A device that is gone has no name
                 * there; the watch finds it by number. */
                if (name && major(devnum) != 0)
                        kname = kernel_name(devnum);
                if (name)
                        d->base.on_changed(&d->base, kname ?: name, devnum, d->base.userdata);
                else if (sysname && strncmp(sysname, "dm-", 3) == 0)
                        /* Before its table is loaded a dm device has no name in
                         * udev yet; only a full re-read tells. */
                        d->base.on_changed(&d->base, NULL, 0, d->base.userdata);
                udev_device_unref(dev);
        }
}

/* Room for bursts (many containers at once); an overflow is handled by a
 * full re-read anyway, so the size only trades memory for re-reads. */
static int apply_buffer(DmSource *d) {
        int r, counted = 0;
        socklen_t l = sizeof(counted);

        r = udev_monitor_set_receive_buffer_size(d->monitor, (int) d->buffer);
        if (r < 0)
                return r;
        if (getsockopt(udev_monitor_get_fd(d->monitor), SOL_SOCKET, SO_RCVBUF, &counted, &l) < 0)
                return -errno;
        log_debug("udev monitor receive buffer: %zu bytes asked, the kernel counts %d.", d->buffer, counted);
        return 0;
}

static int dm_source_set_buffer(DeviceSource *s, size_t bytes) {
        DmSource *d = (DmSource *) s;

        d->buffer = bytes;
        return d->monitor ? apply_buffer(d) : 0;
}

static int dm_source_start(DeviceSource *s, sd_event *event) {
        DmSource *d = (DmSource *) s;
        int r;

        d->event = sd_event_ref(event);
        d->udev = udev_new();
        if (!d->udev)
                return log_error_errno(-ENOMEM, "udev_new() failed.");
        d->monitor = udev_monitor_new_from_netlink(d->udev, "udev");
        if (!d->monitor)
                return log_error_errno(-errno ?: -EIO, "Cannot open the udev monitor: %m");
        r = udev_monitor_filter_add_match_subsystem_devtype(d->monitor, "block", "disk");
        if (r < 0)
                return log_error_errno(r, "Cannot filter the udev monitor: %m");
        r = apply_buffer(d);
        if (r < 0)
                log_warning_errno(r, "Cannot give the udev monitor a receive buffer of %zu bytes, so bursts overflow it sooner: %m",
                                  d->buffer);
        r = udev_monitor_enable_receiving(d->monitor);
        if (r < 0)
                return log_error_errno(r, "Cannot start the udev monitor: %m");
        return sd_event_add_io(event, &d->io, udev_monitor_get_fd(d->monitor), EPOLLIN, on_udev, d);
}

static void dm_source_free(DeviceSource *s) {
        DmSource *d = (DmSource *) s;

        sd_event_source_disable_unref(d->io);
        sd_event_source_disable_unref(d->wait_timer);
        /* Whatever udev has not confirmed yet is released as it would be. */
        for (size_t i = 0; i < d->n_waits; i++) {
                int ready;

                (void) dm_udev_complete(d->waits[i].cookie);
                (void) dm_udev_wait_immediate(d->waits[i].cookie, &ready);
        }
        free(d->waits);
        sd_event_unref(d->event);
        udev_monitor_unref(d->monitor);
        udev_unref(d->udev);
        free(d);
}

static const DeviceSourceOps dm_ops = {
        .kind = "device-mapper",
        .start = dm_source_start,
        .enumerate = dm_source_enumerate,
        .query = dm_source_query,
        .remove = dm_source_remove,
        .set_buffer = dm_source_set_buffer,
        .free = dm_source_free,
};

int device_source_dm_new(DeviceSource **ret) {
        DmSource *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        d->base.ops = &dm_ops;
        d->buffer = 8 * 1024 * 1024;
        dm_log_with_errno_init(dm_log_debug);
        /* Names go to and come from the kernel byte for byte. libdevmapper's
         * default (auto) turns a name with any byte outside [A-Za-z0-9#+-.:=@_]
         * into \xNN form before the ioctl, so "with space" is never found,
         * and fails the whole device list when a name cannot be unmangled:
         * one such device hid every other one. */
        (void) dm_set_name_mangling_mode(DM_STRING_MANGLING_NONE);
        *ret = &d->base;
        return 0;
}
