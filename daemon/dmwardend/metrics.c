/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Names follow Prometheus's naming guide: a dmwarden_ prefix, base units
 * (bytes, seconds), _total on counters, and labels of low cardinality
 * only (state, action, result, pool; never a PID or a device name). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmwardend/metrics.h"

void metrics_snapshot_done(MetricsSnapshot *s) {
        free(s->pools);
        *s = (MetricsSnapshot) {};
}

int metrics_collect(DeviceWatch *w, LeakHandler *h, const Engine *e, MetricsSnapshot *ret) {
        MetricsSnapshot s = { .version = DMWARDEN_VERSION };
        DeviceWatchStats stats;
        const DeviceInfo *pools;
        Device **devices;
        size_t n = 0, n_pools = 0;

        devices = device_watch_devices(w, &n);
        for (size_t i = 0; i < n; i++) {
                const Device *d = devices[i];

                if (d->state >= 0 && d->state < _DEVICE_STATE_MAX)
                        s.devices[d->state]++;
                if (device_state_is_leak(d->state) && d->leaked_since_usec > 0 &&
                    (s.oldest_leak_usec == 0 || d->leaked_since_usec < s.oldest_leak_usec))
                        s.oldest_leak_usec = d->leaked_since_usec;
        }
        if (h)
                leak_handler_get_counters(h, &s.counters);
        s.leaked_bytes = device_watch_leaked_bytes(w, NULL);
        pools = device_watch_pools(w, &n_pools);
        s.pools = n_pools > 0 ? calloc(n_pools, sizeof(MetricsPool)) : NULL;
        if (n_pools > 0 && !s.pools)
                return -ENOMEM;
        for (size_t i = 0; i < n_pools; i++)
                if (pools[i].pool_space_known)
                        s.pools[s.n_pools++] = (MetricsPool) {
                                .name = pools[i].name,
                                .space = pools[i].pool_space,
                                .leaked_bytes = device_watch_leaked_bytes(w, pools[i].name),
                        };
        s.engine_managed = e != NULL;
        s.engine_up = e && e->state == ENGINE_RUNNING;
        s.engine_restarts = e ? e->restarts : 0;
        device_watch_stats(w, &stats);
        s.last_scan_duration_usec = stats.last_scan_duration_usec;
        s.scans = stats.n_scans;
        s.walk = holder_walk_to_string(stats.walk);
        *ret = s;
        return 0;
}

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped; any other
 * byte as it is (the format is UTF-8; a pool name that is not stays
 * readable to Prometheus as bytes it replaces). */
static void label_value(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        fputc('"', f);
}

static void seconds(FILE *f, uint64_t usec) {
        fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", usec / 1000000, usec % 1000000);
}

static void pool_gauge(FILE *f, const MetricsSnapshot *s, const char *name, const char *help, size_t offset) {
        header(f, name, "gauge", help);
        for (size_t i = 0; i < s->n_pools; i++) {
                fprintf(f, "%s{pool=", name);
                label_value(f, s->pools[i].name);
                fprintf(f, "} %" PRIu64 "\n", *(const uint64_t *) ((const uint8_t *) &s->pools[i] + offset));
        }
}

static void format_devices(FILE *f, const MetricsSnapshot *s) {
        header(f, "dmwarden_devices", "gauge", "Watched thin devices by life-cycle state.");
        for (DeviceState st = 0; st < _DEVICE_STATE_MAX; st++)
                if (st != DEVICE_REMOVED)
                        fprintf(f, "dmwarden_devices{state=\"%s\"} %u\n", device_state_to_string(st), s->devices[st]);
        header(f, "dmwarden_leaks_detected_total", "counter", "Leaks detected: devices the engine let go that others still held.");
        fprintf(f, "dmwarden_leaks_detected_total %" PRIu64 "\n", s->counters.leaks_detected);
        header(f, "dmwarden_holders_reaped_total", "counter", "Actions taken against the holders of leaked devices, by action and result.");
        for (ReapAction a = REAP_DETACH; a < _REAP_ACTION_MAX; a++) {
                fprintf(f, "dmwarden_holders_reaped_total{action=\"%s\",result=\"ok\"} %" PRIu64 "\n",
                        reap_action_to_string(a), s->counters.reaped[a]);
                fprintf(f, "dmwarden_holders_reaped_total{action=\"%s\",result=\"failed\"} %" PRIu64 "\n",
                        reap_action_to_string(a), s->counters.reap_failed[a]);
        }
        header(f, "dmwarden_devices_removed_total", "counter", "Leaked or released devices that were removed.");
        fprintf(f, "dmwarden_devices_removed_total %" PRIu64 "\n", s->counters.devices_removed);
        header(f, "dmwarden_leaked_bytes", "gauge", "Bytes mapped by leaked devices: what freeing them gives back to their pools.");
        fprintf(f, "dmwarden_leaked_bytes %" PRIu64 "\n", s->leaked_bytes);
        header(f, "dmwarden_oldest_leak_start_time_seconds", "gauge", "Since when the oldest current leak has lasted (Unix time); 0 when there is none.");
        fputs("dmwarden_oldest_leak_start_time_seconds ", f);
        seconds(f, s->oldest_leak_usec);
}

static void format_pools(FILE *f, const MetricsSnapshot *s) {
        pool_gauge(f, s, "dmwarden_pool_data_used_bytes", "Data space used in the thin pool.",
                   offsetof(MetricsPool, space.data_used_bytes));
        pool_gauge(f, s, "dmwarden_pool_data_size_bytes", "Data space of the thin pool.",
                   offsetof(MetricsPool, space.data_total_bytes));
        pool_gauge(f, s, "dmwarden_pool_metadata_used_bytes", "Metadata space used in the thin pool.",
                   offsetof(MetricsPool, space.metadata_used_bytes));
        pool_gauge(f, s, "dmwarden_pool_metadata_size_bytes", "Metadata space of the thin pool.",
                   offsetof(MetricsPool, space.metadata_total_bytes));
        pool_gauge(f, s, "dmwarden_pool_leaked_bytes", "Bytes mapped by leaked devices in the thin pool.",
                   offsetof(MetricsPool, leaked_bytes));
}

static void format_daemon(FILE *f, const MetricsSnapshot *s) {
        header(f, "dmwarden_engine_managed", "gauge", "1 if dmwardend launches the container engine, 0 in watch-only mode.");
        fprintf(f, "dmwarden_engine_managed %d\n", s->engine_managed);
        header(f, "dmwarden_engine_up", "gauge", "1 if the engine dmwardend launched is running and ready.");
        fprintf(f, "dmwarden_engine_up %d\n", s->engine_up);
        header(f, "dmwarden_engine_restarts_total", "counter", "Automatic restarts of the engine.");
        fprintf(f, "dmwarden_engine_restarts_total %" PRIu64 "\n", s->engine_restarts);
        header(f, "dmwarden_scan_duration_seconds", "gauge", "How long the last scan pass took.");
        fputs("dmwarden_scan_duration_seconds ", f);
        seconds(f, s->last_scan_duration_usec);
        header(f, "dmwarden_scans_total", "counter", "Scan passes.");
        fprintf(f, "dmwarden_scans_total %" PRIu64 "\n", s->scans);
        header(f, "dmwarden_build_info", "gauge",
               "dmwarden's version and how the last scan found processes, as labels; always 1.");
        fputs("dmwarden_build_info{version=", f);
        label_value(f, s->version);
        fputs(",walk=", f);
        label_value(f, strempty(s->walk));
        fputs("} 1\n", f);
}

int metrics_format(const MetricsSnapshot *s, char **ret) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        format_devices(f, s);
        format_pools(f, s);
        format_daemon(f, s);
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}
