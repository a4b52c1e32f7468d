/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Steps of scans under way: skipped only once they are older than the
 * grace time, given back when the scan comes back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>

#include "holders/stall-guard.h"

static void sleep_usec(usec_t usec) {
        struct timespec ts = { .tv_sec = usec / USEC_PER_SEC, .tv_nsec = (usec % USEC_PER_SEC) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

Test(stall_guard, a_step_under_way_is_skipped_only_after_the_grace_time) {
        _cleanup_(stall_guard_unrefp) StallGuard *g = NULL;

        cr_assert_eq(stall_guard_new(50 * USEC_PER_MSEC, &g), 0);
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_PROCESS(42)), 0);
        /* A second scan at the same step while it is young: both go. */
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_PROCESS(42)), 0);
        cr_assert_eq(stall_guard_stalled(g), 0);
        sleep_usec(80 * USEC_PER_MSEC);
        cr_assert_eq(stall_guard_stalled(g), 1);
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_PROCESS(42)), -EBUSY);
        /* Other steps are not held up. */
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_PROCESS(43)), 0);
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_BLOCK(42)), 0, "a loop device is not the process of that number");
        stall_guard_leave(g, STALL_KEY_PROCESS(43));
        stall_guard_leave(g, STALL_KEY_BLOCK(42));
        /* Both scans came back: the step is free again. */
        stall_guard_leave(g, STALL_KEY_PROCESS(42));
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_PROCESS(42)), -EBUSY, "one scan is still in it");
        stall_guard_leave(g, STALL_KEY_PROCESS(42));
        cr_assert_eq(stall_guard_stalled(g), 0);
        cr_assert_eq(stall_guard_enter(g, STALL_KEY_PROCESS(42)), 0);
        stall_guard_leave(g, STALL_KEY_PROCESS(42));
}

Test(stall_guard, no_guard_allows_everything) {
        cr_assert_eq(stall_guard_enter(NULL, STALL_KEY_PROCESS(1)), 0);
        stall_guard_leave(NULL, STALL_KEY_PROCESS(1));
        cr_assert_eq(stall_guard_stalled(NULL), 0);
}

Test(stall_guard, a_reference_keeps_it_alive) {
        StallGuard *g = NULL, *kept;

        cr_assert_eq(stall_guard_new(USEC_PER_SEC, &g), 0);
        kept = stall_guard_ref(g);
        cr_assert_eq(stall_guard_enter(kept, STALL_KEY_PROCESS(7)), 0);
        stall_guard_unref(g);
        stall_guard_leave(kept, STALL_KEY_PROCESS(7));
        stall_guard_unref(kept);
}
