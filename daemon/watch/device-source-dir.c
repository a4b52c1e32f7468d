/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test device source: device descriptions as files in a directory,
 * changes by inotify. It lets the privileged suite drive the watch and the
 * bus on a host without device-mapper, with real device numbers (loop
 * devices) so the holder scans are real too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/escape.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "watch/device-source.h"

typedef struct DirSource {
        DeviceSource base;
        char *dir;
        int inotify_fd;
        sd_event_source *io;
} DirSource;

static int parse_bool_value(const char *v, bool *ret) {
        if (streq(v, "1") || streq(v, "yes") || streq(v, "true"))
                *ret = true;
        else if (streq(v, "0") || streq(v, "no") || streq(v, "false"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static int parse_unsigned_value(const char *v, unsigned *ret) {
        char *end;
        unsigned long u;

        errno = 0;
        u = strtoul(v, &end, 10);
        if (errno != 0 || end == v || *end || u >= OPEN_COUNT_UNKNOWN)
                return -EINVAL;
        *ret = (unsigned) u;
        return 0;
}

static int parse_u64_value(const char *v, uint64_t *ret) {
        char *end;
        unsigned long long u;

        errno = 0;
        u = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end || *v == '-')
                return -EINVAL;
        *ret = u;
        return 0;
}

static int set_string(char **field, const char *v) {
        char *copy = strdup(v);

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* The raw lines the kernel would give, parsed once all keys are read. */
typedef struct DescriptionLines {
        char *params;
        char *status;
} DescriptionLines;

static void description_lines_done(DescriptionLines *l) {
        free(l->params);
        free(l->status);
}

static int parse_line(DeviceInfo *info, DescriptionLines *lines, const char *key, const char *v) {
        unsigned ma, mi;
        char *name;
        int r;

        if (streq(key, "name")) {
                r = cunescape(v, &name);
                if (r < 0)
                        return r;
                free(info->name);
                info->name = name;
                return 0;
        }
        if (streq(key, "uuid"))
                return set_string(&info->uuid, v);
        if (streq(key, "target"))
                return set_string(&info->target, v);
        if (streq(key, "pool"))
                return set_string(&info->pool, v);
        if (streq(key, "dev")) {
                if (sscanf(v, "%u:%u", &ma, &mi) != 2)
                        return -EINVAL;
                info->dev = makedev(ma, mi);
                return 0;
        }
        if (streq(key, "diskseq"))
                return parse_u64_value(v, &info->diskseq);
        if (streq(key, "open_count"))
                return parse_unsigned_value(v, &info->open_count);
        if (streq(key, "deferred_remove"))
                return parse_bool_value(v, &info->deferred_remove);
        if (streq(key, "suspended"))
                return parse_bool_value(v, &info->suspended);
        if (streq(key, "params"))
                return set_string(&lines->params, v);
        if (streq(key, "status"))
                return set_string(&lines->status, v);
        return -EINVAL;
}

int device_description_parse(const char *file, char *text, DeviceInfo *ret) {
        _cleanup_(device_info_done) DeviceInfo info = { .open_count = OPEN_COUNT_UNKNOWN };
        _cleanup_(description_lines_done) DescriptionLines lines = {};
        unsigned line = 0;
        int r;

        for (char *p = text, *nl; p && *p; p = nl) {
                char *eq;

                nl = strchr(p, '\n');
                if (nl)
                        *nl++ = '\0';
                line++;
                if (!*p || *p == '#')
                        continue;
                eq = strchr(p, '=');
                if (!eq)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "%s:%u: expected key=value.", file,
                                               line);
                *eq = '\0';
                r = parse_line(&info, &lines, p, eq + 1);
                if (r < 0)
                        return log_error_errno(r, "%s:%u: bad %s=: %m", file, line, p);
        }
        if (isempty(info.name) || info.dev == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "%s: name= and dev= are required.", file);
        /* A target that reports "Fail" or "Error" (-EIO) is a state the kernel
         * really shows: the device is described, its space unknown. Any other
         * refusal is a bad file. */
        r = device_info_apply_status(&info, lines.params, lines.status);
        if (r < 0 && r != -EIO && (lines.params || lines.status))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "%s: bad params= or status= for target %s.", file,
                                       info.target ?: "");
        r = device_info_copy(&info, ret);  /* fills NULL strings with "" */
        return r;
}

static int dir_read_one(DirSource *d, int dir_fd, const char *file, DeviceInfo *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_at(dir_fd, file, 64 * 1024, &text, NULL);
        if (r < 0)
                return r;
        r = device_description_parse(file, text, ret);
        if (r < 0)
                log_warning("Ignoring device description %s/%s.", d->dir, file);
        return r;
}

static int dir_enumerate(DeviceSource *s, DeviceInfo **ret, size_t *ret_n) {
        DirSource *d = (DirSource *) s;
        _cleanup_(closedirp) DIR *dir = NULL;
        DeviceInfo *infos = NULL;
        size_t n = 0;
        struct dirent *de;
        int r;

        dir = opendir(d->dir);
        if (!dir)
                return log_error_errno(-errno, "Cannot open the device directory %s: %m", d->dir);
        while ((de = readdir(dir))) {
                DeviceInfo info;

                if (de->d_name[0] == '.')
                        continue;
                if (dir_read_one(d, dirfd(dir), de->d_name, &info) < 0)
                        continue;  /* vanished, or bad: said so already */
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

static int dir_query(DeviceSource *s, const char *name, DeviceInfo *ret) {
        DeviceInfo *infos = NULL;
        size_t n = 0;
        int r;

        r = dir_enumerate(s, &infos, &n);
        if (r < 0)
                return r;
        r = -ENODEV;
        for (size_t i = 0; i < n; i++)
                if (streq(infos[i].name, name)) {
                        *ret = infos[i];
                        infos[i] = (DeviceInfo) {};
                        r = 0;
                        break;
                }
        device_infos_free(infos, n);
        return r;
}

static int dir_remove(DeviceSource *s, const char *name, bool deferred) {
        DirSource *d = (DirSource *) s;
        _cleanup_(closedirp) DIR *dir = NULL;
        struct dirent *de;

        (void) deferred;
        dir = opendir(d->dir);
        if (!dir)
                return -errno;
        while ((de = readdir(dir))) {
                DeviceInfo info;

                if (de->d_name[0] == '.' || dir_read_one(d, dirfd(dir), de->d_name, &info) < 0)
                        continue;
                bool match = streq(info.name, name);
                device_info_done(&info);
                if (match)
                        return unlinkat(dirfd(dir), de->d_name, 0) < 0 ? -errno : 0;
        }
        return -ENODEV;
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        DirSource *d = ASSERT_PTR(userdata);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        (void) es;
        (void) revents;
        /* Drain; what changed does not matter, the watch re-reads the lot. */
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        if (d->base.on_changed)
                d->base.on_changed(&d->base, NULL, 0, d->base.userdata);
        return 0;
}

static int dir_start(DeviceSource *s, sd_event *event) {
        DirSource *d = (DirSource *) s;

        d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->inotify_fd < 0)
                return log_error_errno(-errno, "inotify_init1() failed: %m");
        if (inotify_add_watch(d->inotify_fd, d->dir,
                              IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR) < 0)
                return log_error_errno(-errno, "Cannot watch the device directory %s: %m", d->dir);
        return sd_event_add_io(event, &d->io, d->inotify_fd, EPOLLIN, on_inotify, d);
}

static void dir_free(DeviceSource *s) {
        DirSource *d = (DirSource *) s;

        sd_event_source_disable_unref(d->io);
        safe_close(d->inotify_fd);
        free(d->dir);
        free(d);
}

static const DeviceSourceOps dir_ops = {
        .kind = "directory",
        .start = dir_start,
        .enumerate = dir_enumerate,
        .query = dir_query,
        .remove = dir_remove,
        .free = dir_free,
};

int device_source_dir_new(const char *dir, DeviceSource **ret) {
        DirSource *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        d->base.ops = &dir_ops;
        d->inotify_fd = -EBADF;
        d->dir = strdup(dir);
        if (!d->dir) {
                free(d);
                return -ENOMEM;
        }
        *ret = &d->base;
        return 0;
}
