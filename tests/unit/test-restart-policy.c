/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>

#include "engine/restart-policy.h"

Test(restart_policy, modes) {
        cr_assert(!restart_wanted(RESTART_NO, true, false));
        cr_assert(restart_wanted(RESTART_ON_FAILURE, true, false));
        cr_assert(!restart_wanted(RESTART_ON_FAILURE, false, false));
        cr_assert(restart_wanted(RESTART_ALWAYS, false, false));
        cr_assert(!restart_wanted(RESTART_ALWAYS, true, true), "a requested stop is never restarted");
}

Test(restart_policy, backoff_doubles_and_is_capped) {
        cr_assert_eq(restart_delay(2 * USEC_PER_SEC, 0), 2 * USEC_PER_SEC);
        cr_assert_eq(restart_delay(2 * USEC_PER_SEC, 1), 2 * USEC_PER_SEC);
        cr_assert_eq(restart_delay(2 * USEC_PER_SEC, 2), 4 * USEC_PER_SEC);
        cr_assert_eq(restart_delay(2 * USEC_PER_SEC, 4), 16 * USEC_PER_SEC);
        cr_assert_eq(restart_delay(2 * USEC_PER_SEC, 1000), RESTART_DELAY_MAX);
        cr_assert_eq(restart_delay(10 * USEC_PER_MINUTE, 3), 10 * USEC_PER_MINUTE,
                     "a RestartSec= beyond the cap is kept as it is");
        cr_assert_eq(restart_delay(0, 5), 0);
}

Test(restart_policy, start_limit_window) {
        StartLimit l = {};
        usec_t t = 1000 * USEC_PER_SEC, interval = 10 * USEC_PER_SEC;

        for (int i = 0; i < 3; i++)
                cr_assert(start_limit_allow(&l, t + (usec_t) i * USEC_PER_SEC, interval, 3));
        cr_assert(!start_limit_allow(&l, t + 4 * USEC_PER_SEC, interval, 3), "fourth start in 10 s");
        cr_assert(start_limit_allow(&l, t + 20 * USEC_PER_SEC, interval, 3), "a new window begins");
        cr_assert(start_limit_allow(&(StartLimit) {}, t, 0, 0), "no limit configured");
}
