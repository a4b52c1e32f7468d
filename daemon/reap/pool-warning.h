/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pool fill warning: one alert when a thin pool's data or metadata
 * crosses [Pool] WarnPercent=, naming the leaked devices in it and what
 * they hold; again only after the fill fell 5 points below the level
 * (hysteresis, as dmeventd does), and rate-limited per pool like the leak
 * alerts. Owns the per-pool state. */

#include <stdbool.h>

#include "basic/time-util.h"
#include "reap/alert-ratelimit.h"
#include "watch/device-watch.h"

/* The fill must drop this far below the level before it warns again. */
#define POOL_WARN_HYSTERESIS_PERMILLE 50U

typedef struct PoolWarningState {
        char *pool;
        bool over;                      /* warned, not yet back below */
        AlertRateLimit ratelimit;
} PoolWarningState;

typedef struct PoolWarnings {
        PoolWarningState *pools;
        size_t n_pools;
} PoolWarnings;

void pool_warnings_done(PoolWarnings *w);

/* Whether a fill of permille (the fuller of data and metadata) warns now
 * at level percent (0: never), moving *over. Pure. */
bool pool_fill_crossed(bool *over, unsigned permille, unsigned level_percent);

/* Looks at every pool the watch knows (as last refreshed) and sends the
 * warning where a level was crossed. */
void pool_warnings_check(PoolWarnings *w, DeviceWatch *watch, unsigned level_percent, usec_t now);
