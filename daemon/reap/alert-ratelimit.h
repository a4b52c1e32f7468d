/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How often one device may alert: at most a burst per interval, so a
 * flapping device cannot flood the journal; a stuck leak is told once and
 * then repeated at a slow rate while it lasts. Released, removed and
 * removal failed end a device's story and always pass, outside the burst.
 * Pure: the caller passes the time (CLOCK_MONOTONIC). */

#include <stdbool.h>

#include "basic/time-util.h"
#include "reap/alert.h"

#define ALERT_RATELIMIT_INTERVAL_USEC (10 * USEC_PER_MINUTE)
#define ALERT_RATELIMIT_BURST 10U
#define ALERT_STUCK_REPEAT_USEC USEC_PER_HOUR

typedef struct AlertRateLimit {
        usec_t window_start;
        unsigned n_in_window;
        unsigned n_suppressed;          /* dropped since the last one sent */
        usec_t last_stuck;              /* 0: no stuck alert this episode */
} AlertRateLimit;

/* Whether an alert of kind may be sent at now. If so, *ret_suppressed
 * (optional) says how many were dropped before it, and the count starts
 * again. */
bool alert_ratelimit_test(AlertRateLimit *rl, AlertKind kind, usec_t now, unsigned *ret_suppressed);

/* The stuck episode is over (the device left "stuck"): a new one is told
 * at once, within the burst. */
void alert_ratelimit_stuck_over(AlertRateLimit *rl);

/* When the next repeat of a stuck alert is due (USEC_INFINITY: none). */
usec_t alert_ratelimit_stuck_due(const AlertRateLimit *rl);
