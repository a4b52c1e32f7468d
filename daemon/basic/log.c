/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "basic/log.h"

/* The one piece of process-wide state outside main.c: where log lines go and
 * how verbose they are. Like errno, it is a property of the process, set once
 * at start-up, and threading it through every call would help nobody. */
static int log_max_level = LOG_INFO;
static LogTarget log_target = LOG_TARGET_AUTO;

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_target(LogTarget target) {
        log_target = target;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        return -EINVAL;
}

void log_parse_environment(void) {
        const char *e;

        e = getenv("DMWARDEN_LOG_LEVEL");
        if (e) {
                int level = log_level_from_string(e);
                if (level >= 0)
                        log_max_level = level;
        }

        e = getenv("DMWARDEN_LOG_TARGET");
        if (e) {
                if (streq(e, "console"))
                        log_target = LOG_TARGET_CONSOLE;
                else if (streq(e, "journal"))
                        log_target = LOG_TARGET_JOURNAL;
                else if (streq(e, "auto"))
                        log_target = LOG_TARGET_AUTO;
        }
}

/* systemd sets JOURNAL_STREAM=dev:ino for the stderr it connected to the
 * journal; only then is structured logging worth it. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

static bool use_journal(void) {
        switch (log_target) {
        case LOG_TARGET_JOURNAL:
                /* sd-journal drops messages silently when journald is not
                 * there; a message on stderr is better than none. */
                return access("/run/systemd/journal/socket", F_OK) == 0;
        case LOG_TARGET_CONSOLE:
                return false;
        default:
                return stderr_is_journal();
        }
}

bool log_target_is_journal(void) {
        return use_journal();
}

_printf_(7, 0) static void log_write(int level, int error, bool synthetic, const char *file, int line,
                                     const char *func, const char *format, va_list ap) {
        char message[LINE_MAX];

        /* Let "%m" name the error we were given rather than whatever errno is. */
        errno = error;
        (void) vsnprintf(message, sizeof(message), format, ap);

        if (!use_journal()) {
                (void) fprintf(stderr, "%s\n", message);
                return;
        }

        char code_file[PATH_MAX + 16], code_line[32], errno_field[32];
        int r;

        (void) snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
        (void) snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
        /* The field list ends at the first NULL, so ERRNO= is passed only
         * for an error that a call really returned. */
        (void) snprintf(errno_field, sizeof(errno_field), "ERRNO=%i", error);
        r = sd_journal_send_with_location(code_file, code_line, func,
                                          "MESSAGE=%s", message,
                                          "PRIORITY=%i", level,
                                          error > 0 && !synthetic ? errno_field : NULL,
                                          NULL);
        if (r < 0)
                (void) fprintf(stderr, "%s\n", message);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        int saved_errno = errno;
        bool synthetic = IS_SYNTHETIC_ERRNO(error);
        va_list ap;

        error = ERRNO_VALUE(error);
        level &= LOG_PRIMASK;
        if (level <= log_max_level) {
                va_start(ap, format);
                log_write(level, error, synthetic, file, line, func, format, ap);
                va_end(ap);
        }

        errno = saved_errno;
        return -error;
}
