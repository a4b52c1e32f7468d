/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When to restart a crashed engine and how long to wait: Restart= modes,
 * exponential back-off from RestartSec=, and the start limit. Pure logic. */

#include <stdbool.h>

#include "basic/time-util.h"
#include "config/config.h"

/* Back-off never grows past this (unless RestartSec= itself is longer). */
#define RESTART_DELAY_MAX (5 * USEC_PER_MINUTE)

typedef struct StartLimit {
        usec_t interval_begin;
        unsigned count;
} StartLimit;

/* Whether an engine that exited should be started again. failed: it exited
 * non-zero or by a signal; requested: we asked it to stop. */
bool restart_wanted(RestartMode mode, bool failed, bool requested);

/* RestartSec= doubled for each failure in a row after the first. */
usec_t restart_delay(usec_t base, unsigned failures_in_row);

/* Records a start at now; returns false if it is one too many for the
 * window (more than burst starts within interval). */
bool start_limit_allow(StartLimit *l, usec_t now, usec_t interval, unsigned burst);
