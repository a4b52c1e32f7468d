/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "reap/pool-warning.h"

void pool_warnings_done(PoolWarnings *w) {
        for (size_t i = 0; i < w->n_pools; i++)
                free(w->pools[i].pool);
        free(w->pools);
        *w = (PoolWarnings) {};
}

bool pool_fill_crossed(bool *over, unsigned permille, unsigned level_percent) {
        unsigned level = level_percent * 10;

        if (level_percent == 0) {
                *over = false;
                return false;
        }
        if (*over) {
                if (permille + POOL_WARN_HYSTERESIS_PERMILLE < level)
                        *over = false;
                return false;
        }
        if (permille < level)
                return false;
        *over = true;
        return true;
}

static PoolWarningState *state_for(PoolWarnings *w, const char *pool) {
        PoolWarningState *grown;
        char *copy;

        for (size_t i = 0; i < w->n_pools; i++)
                if (streq(w->pools[i].pool, pool))
                        return &w->pools[i];
        copy = strdup(pool);
        grown = copy ? realloc(w->pools, (w->n_pools + 1) * sizeof(PoolWarningState)) : NULL;
        if (!grown) {
                free(copy);
                return NULL;
        }
        w->pools = grown;
        w->pools[w->n_pools] = (PoolWarningState) { .pool = copy };
        return &w->pools[w->n_pools++];
}

/* "a (1.0 GiB), b (12.0 MiB)": the leaked devices in pool, by name. */
static char *describe_leaked(DeviceWatch *watch, const char *pool) {
        _cleanup_free_ char *s = NULL;
        size_t size = 0, n = 0;
        Device **devices = device_watch_devices(watch, &n);
        FILE *f = open_memstream(&s, &size);
        bool first = true;

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const Device *d = devices[i];
                char bytes[THIN_BYTES_STRING_MAX];

                if (!device_state_is_leak(d->state) || !streq(d->info.pool, pool))
                        continue;
                fprintf(f, "%s%s (%s)", first ? "" : ", ", d->info.name,
                        d->info.mapped_bytes == THIN_BYTES_UNKNOWN ? "?"
                                                                   : thin_format_bytes(d->info.mapped_bytes, bytes));
                first = false;
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(s);
}

static void warn_pool(PoolWarningState *st, DeviceWatch *watch, const DeviceInfo *p, unsigned level_percent,
                      usec_t now) {
        _cleanup_free_ char *leaked = describe_leaked(watch, p->name);
        Alert a = {
                .kind = ALERT_POOL_FILL,
                .dm_name = p->name,
                .dm_uuid = p->uuid,
                .dev = p->dev,
                .data_permille = thin_space_permille(p->pool_space.data_used_bytes, p->pool_space.data_total_bytes),
                .metadata_permille = thin_space_permille(p->pool_space.metadata_used_bytes,
                                                         p->pool_space.metadata_total_bytes),
                .warn_percent = level_percent,
                .leaked_bytes = device_watch_leaked_bytes(watch, p->name),
                .leaked_devices = leaked ?: "",
        };

        if (!alert_ratelimit_test(&st->ratelimit, a.kind, now, &a.n_suppressed)) {
                log_debug("Pool fill alert for %s suppressed by the rate limit.", p->name);
                return;
        }
        (void) alert_send(&a);
}

void pool_warnings_check(PoolWarnings *w, DeviceWatch *watch, unsigned level_percent, usec_t now) {
        size_t n = 0;
        const DeviceInfo *pools = device_watch_pools(watch, &n);

        for (size_t i = 0; i < n; i++) {
                const DeviceInfo *p = &pools[i];
                PoolWarningState *st;
                unsigned data, meta;

                if (!p->pool_space_known)
                        continue;
                st = state_for(w, p->name);
                if (!st)
                        return;  /* no memory: the next check tries again */
                data = thin_space_permille(p->pool_space.data_used_bytes, p->pool_space.data_total_bytes);
                meta = thin_space_permille(p->pool_space.metadata_used_bytes, p->pool_space.metadata_total_bytes);
                if (pool_fill_crossed(&st->over, MAX(data, meta), level_percent))
                        warn_pool(st, watch, p, level_percent, now);
        }
}
