/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Durations in microseconds, parsed and printed the way systemd's
 * configuration files write them ("90s", "5min", "1min 30s", "infinity"). */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC  ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)

/* Now on clock (CLOCK_MONOTONIC for spans, CLOCK_REALTIME for what is
 * shown to people). */
usec_t now_usec(clockid_t clock);

/* A bare number means seconds. Returns -EINVAL for malformed input and
 * -ERANGE for values that do not fit. */
int parse_sec(const char *s, usec_t *ret);

/* Writes the shortest exact form, e.g. "1min 30s", "250ms", "0", "infinity".
 * Returns buf. */
char *format_timespan(char *buf, size_t size, usec_t t);
#define FORMAT_TIMESPAN_MAX 64
