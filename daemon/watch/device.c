/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/strv.h"
#include "watch/device.h"

static const char *const device_state_names[_DEVICE_STATE_MAX] = {
        [DEVICE_ACTIVE] = "active",
        [DEVICE_IDLE] = "idle",
        [DEVICE_LEAKED] = "leaked",
        [DEVICE_REAPING] = "reaping",
        [DEVICE_STUCK] = "stuck",
        [DEVICE_RELEASED] = "released",
        [DEVICE_REMOVED] = "removed",
};

DEFINE_ENUM_TO_STRING(device_state, DeviceState, device_state_names, _DEVICE_STATE_MAX);

DeviceState device_state_from_string(const char *s) {
        for (DeviceState i = 0; s && i < _DEVICE_STATE_MAX; i++)
                if (streq(device_state_names[i], s))
                        return i;
        return _DEVICE_STATE_INVALID;
}

static const char *const device_let_go_names[_DEVICE_LET_GO_MAX] = {
        [DEVICE_LET_GO_NONE] = "none",
        [DEVICE_LET_GO_DEFERRED] = "deferred-remove",
        [DEVICE_LET_GO_FORCED] = "forced-remove",
        [DEVICE_LET_GO_SETTLED] = "settled",
};

DEFINE_ENUM_TO_STRING(device_let_go, DeviceLetGo, device_let_go_names, _DEVICE_LET_GO_MAX);

bool device_info_removal_asked(const DeviceInfo *info) {
        return info->deferred_remove || streq_ptr(info->target, DEVICE_TARGET_ERROR);
}

DeviceLetGo device_let_go(const DeviceInfo *info, usec_t held_outside_since, usec_t now, usec_t settle) {
        if (info->deferred_remove)
                return DEVICE_LET_GO_DEFERRED;
        if (streq_ptr(info->target, DEVICE_TARGET_ERROR))
                return DEVICE_LET_GO_FORCED;
        if (held_outside_since > 0 && now >= held_outside_since && now - held_outside_since >= settle)
                return DEVICE_LET_GO_SETTLED;
        return DEVICE_LET_GO_NONE;
}

bool holder_record_uses_filesystem(const HolderRecord *h) {
        static const char *const block_uses[] = { "device-node", "stacked", "loop", "unexplained", NULL };

        return h->kind && !strv_contains((char *const *) block_uses, h->kind);
}

void device_info_done(DeviceInfo *i) {
        free(i->name);
        free(i->uuid);
        free(i->target);
        free(i->pool);
        *i = (DeviceInfo) {};
}

int device_info_apply_status(DeviceInfo *i, const char *params, const char *status) {
        uint64_t block;
        int r;

        i->mapped_bytes = THIN_BYTES_UNKNOWN;
        i->pool_space_known = false;
        if (streq_ptr(i->target, DEVICE_TARGET_THIN)) {
                r = thin_status_mapped_bytes(status, &i->mapped_bytes);
                if (r < 0)
                        i->mapped_bytes = THIN_BYTES_UNKNOWN;
                return r;
        }
        if (!streq_ptr(i->target, DEVICE_TARGET_THIN_POOL))
                return 0;
        r = thin_pool_params_block_bytes(params, &block);
        if (r < 0)
                return r;
        r = thin_pool_status_parse(status, block, &i->pool_space);
        i->pool_space_known = r >= 0;
        return r;
}

static int strdup_or_empty(const char *s, char **ret) {
        *ret = strdup(s ?: "");
        return *ret ? 0 : -ENOMEM;
}

int device_info_copy(const DeviceInfo *from, DeviceInfo *to) {
        DeviceInfo c = {
                .dev = from->dev,
                .diskseq = from->diskseq,
                .open_count = from->open_count,
                .deferred_remove = from->deferred_remove,
                .suspended = from->suspended,
                .mapped_bytes = from->mapped_bytes,
                .pool_space = from->pool_space,
                .pool_space_known = from->pool_space_known,
        };

        if (strdup_or_empty(from->name, &c.name) < 0 || strdup_or_empty(from->uuid, &c.uuid) < 0 ||
            strdup_or_empty(from->target, &c.target) < 0 || strdup_or_empty(from->pool, &c.pool) < 0) {
                device_info_done(&c);
                return -ENOMEM;
        }
        *to = c;
        return 0;
}

int device_new(const DeviceInfo *info, Device **ret) {
        _cleanup_(device_freep) Device *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = device_info_copy(info, &d->info);
        if (r < 0)
                return r;
        d->last_action = strdup("");
        if (!d->last_action)
                return -ENOMEM;
        d->state = DEVICE_IDLE;
        *ret = TAKE_PTR(d);
        return 0;
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        device_info_done(&d->info);
        holder_records_done(&d->holders);
        device_clear_exit_watches(d);
        free(d->last_action);
        free(d->object_path);
        free(d);
        return NULL;
}

void device_clear_exit_watches(Device *d) {
        for (size_t i = 0; i < d->n_exit_watches; i++)
                sd_event_source_disable_unref(d->exit_watches[i]);
        free(d->exit_watches);
        d->exit_watches = NULL;
        d->n_exit_watches = 0;
}

/* Rows are sorted by namespace first: one process may come several times. */
static bool pid_seen_before(const HolderRecords *h, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (h->rows[j].pid == h->rows[i].pid)
                        return true;
        return false;
}

static int add_exit_watch(Device *d, sd_event *event, pid_t pid, sd_event_io_handler_t handler, void *userdata) {
        _cleanup_close_ int fd = -EBADF;
        sd_event_source **grown, *s = NULL;
        int r;

        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -errno;
        grown = reallocarray(d->exit_watches, d->n_exit_watches + 1, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        d->exit_watches = grown;
        r = sd_event_add_io(event, &s, fd, EPOLLIN, handler, userdata);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(s, true);
        TAKE_FD(fd);
        d->exit_watches[d->n_exit_watches++] = s;
        return 0;
}

void device_add_exit_watches(Device *d, sd_event *event, sd_event_io_handler_t handler, void *userdata) {
        device_clear_exit_watches(d);
        for (size_t i = 0; i < d->holders.n_rows; i++) {
                pid_t pid = d->holders.rows[i].pid;
                int r;

                if (pid <= 0 || pid_seen_before(&d->holders, i))
                        continue;
                r = add_exit_watch(d, event, pid, handler, userdata);
                if (r < 0) {
                        log_debug_errno(r, "Cannot watch holder %i of %s for its exit, rescanning: %m",
                                        (int) pid, d->info.name);
                        d->scan_pending = true;
                }
        }
}

bool device_state_is_leak(DeviceState s) {
        return IN_SET(s, DEVICE_LEAKED, DEVICE_REAPING, DEVICE_STUCK);
}

DeviceState device_next_state(DeviceState old, bool exists, const DeviceUse *use) {
        if (!exists)
                return DEVICE_REMOVED;
        /* Whatever else holds it, a device the engine uses is the engine's. */
        if (use->engine_holds)
                return DEVICE_ACTIVE;
        /* Others holding a device the engine has not let go is no leak:
         * udev probes a device from a mount namespace of its own whenever
         * it is created or closed after writing, Docker unmounts a
         * container's device between create and start, and removing it
         * then would break the container. The engine lets go by asking for
         * removal, which a busy device turns into deferred removal. */
        if (use->others_hold && use->engine_let_go)
                /* Reaping and stuck end by what the reaper finds, not by a scan. */
                return IN_SET(old, DEVICE_REAPING, DEVICE_STUCK) ? old : DEVICE_LEAKED;
        return device_state_is_leak(old) || old == DEVICE_RELEASED ? DEVICE_RELEASED : DEVICE_IDLE;
}

bool device_set_state(Device *d, DeviceState s, usec_t now_realtime) {
        if (d->state == s && d->state_since_usec != 0)
                return false;
        if (device_state_is_leak(s) && !device_state_is_leak(d->state))
                d->leaked_since_usec = now_realtime;
        else if (!device_state_is_leak(s))
                d->leaked_since_usec = 0;
        d->state = s;
        d->state_since_usec = now_realtime;
        return true;
}
