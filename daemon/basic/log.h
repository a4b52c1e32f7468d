/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to the journal (when stderr is connected to it or asked to) or to
 * stderr. log_*_errno() return the error as a negative errno so a failure is
 * logged and propagated in one statement, and "%m" names the error passed in. */

#include <stdbool.h>
#include <stdlib.h>
#include <syslog.h>

#include "basic/macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,     /* journal if stderr is a journal stream, else console */
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_target(LogTarget target);
/* DMWARDEN_LOG_LEVEL=debug|info|notice|warning|err and
 * DMWARDEN_LOG_TARGET=auto|console|journal; unknown values are ignored. */
void log_parse_environment(void);
int log_level_from_string(const char *s);
/* Whether log lines go to journald now (and it listens): structured
 * senders such as alerts then write fields there too. */
bool log_target_is_journal(void);

/* For an error made up here, not returned by a failed call:
 * `return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad ...");`. The caller
 * still gets -EINVAL and "%m" still names it, but the journal gets no ERRNO=
 * field: whoever searches it by ERRNO= looks for calls that failed. The mark
 * is a bit above every errno, ORed onto the positive value; ERRNO_VALUE()
 * strips it again. */
#define SYNTHETIC_ERRNO(num) (abs(num) | (1 << 30))
#define IS_SYNTHETIC_ERRNO(val) ((abs(val) & (1 << 30)) != 0)
#define ERRNO_VALUE(val) (abs(val) & ~(1 << 30))

/* error: a negative or positive errno, maybe SYNTHETIC_ERRNO(), or 0. */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) ((void) log_full_errno((level), 0, __VA_ARGS__))

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...)   log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...)    log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_notice_errno(error, ...)  log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, (error), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
