/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/time-util.h"

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static const struct {
        const char *suffix;
        usec_t usec;
} time_units[] = {
        /* Longest suffixes first where one is a prefix of another ("ms" vs "m"). */
        { "days", USEC_PER_DAY },    { "day", USEC_PER_DAY },     { "d", USEC_PER_DAY },
        { "hours", USEC_PER_HOUR },  { "hour", USEC_PER_HOUR },   { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "minutes", USEC_PER_MINUTE }, { "minute", USEC_PER_MINUTE }, { "min", USEC_PER_MINUTE },
        { "msec", USEC_PER_MSEC },   { "ms", USEC_PER_MSEC },
        { "m", USEC_PER_MINUTE },
        { "seconds", USEC_PER_SEC }, { "second", USEC_PER_SEC },  { "sec", USEC_PER_SEC },
        { "s", USEC_PER_SEC },
        { "usec", 1 },               { "us", 1 },
};

/* Match the unit at p; the unit must end at a digit, a space or the end. */
static const char *match_unit(const char *p, usec_t *ret_mult) {
        if (!isalpha((unsigned char) *p)) {
                *ret_mult = USEC_PER_SEC;
                return p;
        }
        for (size_t i = 0; i < ELEMENTSOF(time_units); i++) {
                size_t n = strlen(time_units[i].suffix);

                if (strncmp(p, time_units[i].suffix, n) != 0)
                        continue;
                if (isalpha((unsigned char) p[n]))
                        continue;
                *ret_mult = time_units[i].usec;
                return p + n;
        }
        return NULL;
}

int parse_sec(const char *s, usec_t *ret) {
        usec_t total = 0;
        bool any = false;
        const char *p = s;

        while (isspace((unsigned char) *p))
                p++;
        if (streq(p, "infinity")) {
                *ret = USEC_INFINITY;
                return 0;
        }

        while (*p) {
                unsigned long long whole = 0;
                usec_t frac = 0, frac_div = 1, mult, value;
                bool digits = false;

                while (isdigit((unsigned char) *p)) {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (unsigned) (*p++ - '0');
                        digits = true;
                }
                if (*p == '.') {
                        p++;
                        if (!isdigit((unsigned char) *p))
                                return -EINVAL;
                        while (isdigit((unsigned char) *p)) {
                                if (frac_div < 1000000000ULL) {
                                        frac = frac * 10 + (unsigned) (*p - '0');
                                        frac_div *= 10;
                                }
                                p++;
                                digits = true;
                        }
                }
                if (!digits)
                        return -EINVAL;

                while (*p == ' ')
                        p++;
                p = match_unit(p, &mult);
                if (!p)
                        return -EINVAL;
                /* "1h30min" is fine, "5s." or "5s-" is not. */
                if (*p != '\0' && !isspace((unsigned char) *p) && !isdigit((unsigned char) *p))
                        return -EINVAL;
                if (whole > UINT64_MAX / mult)
                        return -ERANGE;
                value = whole * mult + frac * mult / frac_div;
                if (value > UINT64_MAX - 1 - total)
                        return -ERANGE;
                total += value;
                any = true;

                while (isspace((unsigned char) *p))
                        p++;
        }

        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

char *format_timespan(char *buf, size_t size, usec_t t) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } parts[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t used = 0;

        if (t == USEC_INFINITY) {
                (void) snprintf(buf, size, "infinity");
                return buf;
        }
        if (t == 0) {
                (void) snprintf(buf, size, "0");
                return buf;
        }

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(parts) && t > 0; i++) {
                usec_t n = t / parts[i].usec;
                int k;

                if (n == 0)
                        continue;
                t -= n * parts[i].usec;
                k = snprintf(buf + used, size - used, "%s%llu%s", used > 0 ? " " : "",
                             (unsigned long long) n, parts[i].suffix);
                if (k < 0 || (size_t) k >= size - used)
                        break;
                used += (size_t) k;
        }
        return buf;
}
