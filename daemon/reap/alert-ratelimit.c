/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/macro.h"
#include "reap/alert-ratelimit.h"

/* How a device's story ends is always told, however many holders made
 * alerts before: nothing else says that a leak was freed, that the device
 * went, or that it could not be removed. */
static bool alert_kind_is_final(AlertKind kind) {
        return IN_SET(kind, ALERT_DEVICE_RELEASED, ALERT_DEVICE_REMOVED, ALERT_REMOVAL_FAILED);
}

static bool pass(AlertRateLimit *rl, unsigned *ret_suppressed) {
        if (ret_suppressed)
                *ret_suppressed = rl->n_suppressed;
        rl->n_suppressed = 0;
        return true;
}

bool alert_ratelimit_test(AlertRateLimit *rl, AlertKind kind, usec_t now, unsigned *ret_suppressed) {
        bool stuck = kind == ALERT_LEAK_STUCK;

        /* Neither held back nor counted against the burst. */
        if (alert_kind_is_final(kind))
                return pass(rl, ret_suppressed);

        /* A repeat comes no sooner than the slow rate, whatever the burst
         * says; and it is not "suppressed": it was never due. */
        if (stuck && rl->last_stuck != 0 && now < rl->last_stuck + ALERT_STUCK_REPEAT_USEC)
                return false;
        if (rl->window_start == 0 || now >= rl->window_start + ALERT_RATELIMIT_INTERVAL_USEC) {
                rl->window_start = now ?: 1;
                rl->n_in_window = 0;
        }
        if (rl->n_in_window >= ALERT_RATELIMIT_BURST) {
                rl->n_suppressed++;
                return false;
        }
        rl->n_in_window++;
        if (stuck)
                rl->last_stuck = now ?: 1;
        return pass(rl, ret_suppressed);
}

void alert_ratelimit_stuck_over(AlertRateLimit *rl) {
        rl->last_stuck = 0;
}

usec_t alert_ratelimit_stuck_due(const AlertRateLimit *rl) {
        return rl->last_stuck == 0 ? USEC_INFINITY : rl->last_stuck + ALERT_STUCK_REPEAT_USEC;
}
