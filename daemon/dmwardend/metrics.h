/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwarden's Prometheus metrics: a snapshot of what the daemon knows,
 * formatted in the text exposition format (docs/metrics.md lists them).
 * Collecting reads the layers; formatting is pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "reap/leak-handler.h"
#include "watch/device-watch.h"

typedef struct MetricsPool {
        const char *name;               /* borrowed from the watch */
        ThinPoolSpace space;
        uint64_t leaked_bytes;
} MetricsPool;

typedef struct MetricsSnapshot {
        const char *version;
        const char *walk;               /* how the last scan found processes: "bpf", "proc" */
        unsigned devices[_DEVICE_STATE_MAX];    /* watched devices by state */
        LeakCounters counters;
        uint64_t leaked_bytes;
        uint64_t oldest_leak_usec;      /* CLOCK_REALTIME; 0: no leak */
        MetricsPool *pools;             /* owned array, names borrowed */
        size_t n_pools;
        bool engine_managed;            /* dmwardend launches the engine */
        bool engine_up;
        uint64_t engine_restarts;
        uint64_t last_scan_duration_usec;
        uint64_t scans;
} MetricsSnapshot;

void metrics_snapshot_done(MetricsSnapshot *s);
/* What the watch, leak handling and the engine (NULL: watch-only) say
 * now; valid until the next loop iteration. */
int metrics_collect(DeviceWatch *w, LeakHandler *h, const Engine *e, MetricsSnapshot *ret);
/* The exposition text, HELP and TYPE included. */
int metrics_format(const MetricsSnapshot *s, char **ret);
