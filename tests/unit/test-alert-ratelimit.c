/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>

#include "reap/alert-ratelimit.h"

#define T0 (1000 * USEC_PER_SEC)

Test(alert_ratelimit, burst_then_quiet_then_counts_the_dropped) {
        AlertRateLimit rl = {};
        unsigned suppressed = 99;

        for (unsigned i = 0; i < ALERT_RATELIMIT_BURST; i++)
                cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_DETECTED, T0 + i, &suppressed), "alert %u", i);
        cr_assert_eq(suppressed, 0);
        for (unsigned i = 0; i < 5; i++)
                cr_assert_not(alert_ratelimit_test(&rl, ALERT_HOLDER_REAPED, T0 + 100 + i, NULL));
        cr_assert_not(alert_ratelimit_test(&rl, ALERT_LEAK_DETECTED, T0 + ALERT_RATELIMIT_INTERVAL_USEC - 1, NULL));
        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_DETECTED, T0 + ALERT_RATELIMIT_INTERVAL_USEC, &suppressed));
        cr_assert_eq(suppressed, 6, "the next alert says how many were dropped");
        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_DETECTED, T0 + ALERT_RATELIMIT_INTERVAL_USEC + 1, &suppressed));
        cr_assert_eq(suppressed, 0, "and the count starts again");
}

Test(alert_ratelimit, stuck_repeats_hourly_while_it_lasts) {
        AlertRateLimit rl = {};

        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_STUCK, T0, NULL));
        cr_assert_eq(alert_ratelimit_stuck_due(&rl), T0 + ALERT_STUCK_REPEAT_USEC);
        cr_assert_not(alert_ratelimit_test(&rl, ALERT_LEAK_STUCK, T0 + USEC_PER_MINUTE, NULL));
        cr_assert_not(alert_ratelimit_test(&rl, ALERT_LEAK_STUCK, T0 + ALERT_STUCK_REPEAT_USEC - 1, NULL));
        cr_assert_eq(rl.n_suppressed, 0, "a repeat that was not due is not a dropped alert");
        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_STUCK, T0 + ALERT_STUCK_REPEAT_USEC, NULL));
        /* Other kinds are not held back by the slow rate. */
        cr_assert(alert_ratelimit_test(&rl, ALERT_REAP_FAILED, T0 + ALERT_STUCK_REPEAT_USEC + 1, NULL));
}

Test(alert_ratelimit, a_new_stuck_episode_is_told_at_once) {
        AlertRateLimit rl = {};

        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_STUCK, T0, NULL));
        alert_ratelimit_stuck_over(&rl);
        cr_assert_eq(alert_ratelimit_stuck_due(&rl), USEC_INFINITY);
        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_STUCK, T0 + USEC_PER_SEC, NULL));
}

Test(alert_ratelimit, a_flapping_device_cannot_flood) {
        AlertRateLimit rl = {};
        unsigned sent = 0;

        /* Leak, a holder reaped, stuck and release every second for an
         * hour: only the release, one per leak, is told each time. */
        for (usec_t t = T0; t < T0 + USEC_PER_HOUR; t += USEC_PER_SEC) {
                static const AlertKind cycle[] = { ALERT_LEAK_DETECTED, ALERT_HOLDER_REAPED, ALERT_LEAK_STUCK };

                for (size_t i = 0; i < ELEMENTSOF(cycle); i++)
                        sent += alert_ratelimit_test(&rl, cycle[i], t, NULL);
                cr_assert(alert_ratelimit_test(&rl, ALERT_DEVICE_RELEASED, t, NULL));
                alert_ratelimit_stuck_over(&rl);
        }
        cr_assert_leq(sent, ALERT_RATELIMIT_BURST * (USEC_PER_HOUR / ALERT_RATELIMIT_INTERVAL_USEC + 1));
}

/* A leak with 9 holders: its detection and 9 holders reaped use up the
 * burst; how it ends is still told, each with what was dropped before. */
Test(alert_ratelimit, the_end_of_a_leak_with_many_holders_is_never_dropped) {
        static const AlertKind final[] = { ALERT_DEVICE_RELEASED, ALERT_DEVICE_REMOVED, ALERT_REMOVAL_FAILED };
        AlertRateLimit rl = {};
        unsigned suppressed = 99;

        cr_assert(alert_ratelimit_test(&rl, ALERT_LEAK_DETECTED, T0, NULL));
        for (unsigned i = 0; i < 9; i++)
                cr_assert(alert_ratelimit_test(&rl, ALERT_HOLDER_REAPED, T0 + 1 + i, NULL), "holder %u", i);
        cr_assert_not(alert_ratelimit_test(&rl, ALERT_HOLDER_REAPED, T0 + 20, NULL), "the burst is used up");
        for (size_t i = 0; i < ELEMENTSOF(final); i++) {
                cr_assert(alert_ratelimit_test(&rl, final[i], T0 + 30 + i, &suppressed), "final alert %zu dropped", i);
                cr_assert_eq(suppressed, i == 0 ? 1 : 0);
        }
        cr_assert_not(alert_ratelimit_test(&rl, ALERT_REAP_FAILED, T0 + 40, NULL), "final alerts use no burst, "
                      "and leave the others limited");
}
