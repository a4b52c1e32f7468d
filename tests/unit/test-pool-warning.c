/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>

#include "reap/pool-warning.h"

Test(pool_warning, warns_once_per_crossing_with_hysteresis) {
        bool over = false;

        cr_assert(!pool_fill_crossed(&over, 899, 90), "below the level");
        cr_assert(pool_fill_crossed(&over, 900, 90), "at the level");
        cr_assert(!pool_fill_crossed(&over, 950, 90), "still over: once");
        cr_assert(!pool_fill_crossed(&over, 860, 90), "4 points below: not yet re-armed");
        cr_assert(!pool_fill_crossed(&over, 905, 90), "and so no second warning");
        cr_assert(!pool_fill_crossed(&over, 849, 90), "more than 5 points below: re-armed");
        cr_assert(!over);
        cr_assert(pool_fill_crossed(&over, 1000, 90), "a new crossing warns again");
}

Test(pool_warning, level_zero_never_warns) {
        bool over = true;

        cr_assert(!pool_fill_crossed(&over, 1000, 0));
        cr_assert(!over, "turning it off forgets the last crossing");
}
