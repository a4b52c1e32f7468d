/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>

#include "basic/time-util.h"

static usec_t parsed(const char *s) {
        usec_t t = 0;
        int r = parse_sec(s, &t);

        cr_assert_eq(r, 0, "parse_sec(\"%s\") failed: %d", s, r);
        return t;
}

Test(time_util, parses_systemd_spellings) {
        cr_assert_eq(parsed("5"), 5 * USEC_PER_SEC, "a bare number is seconds");
        cr_assert_eq(parsed("5s"), 5 * USEC_PER_SEC);
        cr_assert_eq(parsed("500ms"), 500 * USEC_PER_MSEC);
        cr_assert_eq(parsed("1.5s"), 1500 * USEC_PER_MSEC);
        cr_assert_eq(parsed("2min"), 2 * USEC_PER_MINUTE);
        cr_assert_eq(parsed("2m"), 2 * USEC_PER_MINUTE);
        cr_assert_eq(parsed("1h 30min"), USEC_PER_HOUR + 30 * USEC_PER_MINUTE);
        cr_assert_eq(parsed("1h30min"), USEC_PER_HOUR + 30 * USEC_PER_MINUTE);
        cr_assert_eq(parsed("3 s"), 3 * USEC_PER_SEC);
        cr_assert_eq(parsed("2d"), 2 * USEC_PER_DAY);
        cr_assert_eq(parsed("10us"), 10);
        cr_assert_eq(parsed("0"), 0);
        cr_assert_eq(parsed("infinity"), USEC_INFINITY);
}

Test(time_util, rejects_garbage) {
        static const char *const bad[] = { "", " ", "5x", "s", "1.s5", "1..5", "5s.", "1.", "-1", "1 2 x", "5sec5y", ".", "infinityx" };
        usec_t t;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(parse_sec(bad[i], &t), -EINVAL, "\"%s\" accepted", bad[i]);
        cr_assert_eq(parse_sec("99999999999999999999", &t), -ERANGE);
        cr_assert_eq(parse_sec("999999999999d", &t), -ERANGE);
}

Test(time_util, formats_shortest_exact_form_and_round_trips) {
        static const struct {
                usec_t t;
                const char *text;
        } cases[] = {
                { 0, "0" },
                { 90 * USEC_PER_SEC, "1min 30s" },
                { 250 * USEC_PER_MSEC, "250ms" },
                { USEC_PER_DAY + 1, "1d 1us" },
                { 5 * USEC_PER_MINUTE, "5min" },
                { USEC_INFINITY, "infinity" },
        };
        char buf[FORMAT_TIMESPAN_MAX];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                usec_t back;

                cr_assert_str_eq(format_timespan(buf, sizeof(buf), cases[i].t), cases[i].text);
                cr_assert_eq(parse_sec(buf, &back), 0);
                cr_assert_eq(back, cases[i].t);
        }
}
