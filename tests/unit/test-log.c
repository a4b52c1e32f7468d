/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>

#include "basic/log.h"

/* Every level, and to stderr where the test can read it back. */
static void log_to_stderr(void) {
        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_DEBUG);
        cr_redirect_stderr();
}

Test(log, synthetic_error_returns_plain_negative_errno, .init = log_to_stderr) {
        cr_assert_eq(log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad value."), -EINVAL);
        cr_assert_eq(log_debug_errno(SYNTHETIC_ERRNO(ENOENT), "Nothing there."), -ENOENT);
}

Test(log, real_error_returns_itself, .init = log_to_stderr) {
        cr_assert_eq(log_error_errno(-ENOENT, "Failed to open: %m"), -ENOENT);
        cr_assert_eq(log_warning_errno(EACCES, "Failed to open: %m"), -EACCES, "a positive errno comes back negative");
}

Test(log, percent_m_names_synthetic_error_and_errno_survives, .init = log_to_stderr) {
        errno = EBUSY;
        (void) log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad value: %m");
        cr_assert_eq(errno, EBUSY);
        fflush(stderr);
        cr_assert_stderr_eq_str("Bad value: Invalid argument\n");
}

Test(log, synthetic_mark_is_seen_and_stripped) {
        cr_assert(IS_SYNTHETIC_ERRNO(SYNTHETIC_ERRNO(EINVAL)));
        cr_assert(IS_SYNTHETIC_ERRNO(-SYNTHETIC_ERRNO(EINVAL)));
        cr_assert(IS_SYNTHETIC_ERRNO(SYNTHETIC_ERRNO(-EINVAL)));
        cr_assert_not(IS_SYNTHETIC_ERRNO(-EINVAL));
        cr_assert_not(IS_SYNTHETIC_ERRNO(EINVAL));
        cr_assert_eq(ERRNO_VALUE(SYNTHETIC_ERRNO(EINVAL)), EINVAL);
        cr_assert_eq(ERRNO_VALUE(-SYNTHETIC_ERRNO(EINVAL)), EINVAL);
        cr_assert_eq(ERRNO_VALUE(-EINVAL), EINVAL);
}
