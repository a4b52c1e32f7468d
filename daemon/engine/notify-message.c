/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/utf8.h"
#include "engine/notify-message.h"

static pid_t parse_pid(const char *s, size_t len) {
        unsigned long v = 0;

        if (len == 0 || len > 10)
                return 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return 0;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        return v > 1 && v <= 4194304 ? (pid_t) v : 0; /* PID_MAX_LIMIT */
}

static bool line_is(const char *line, size_t len, const char *assignment) {
        return strlen(assignment) == len && memcmp(line, assignment, len) == 0;
}

int notify_message_parse(const char *data, size_t size, NotifyMessage *ret) {
        NotifyMessage m = {};

        for (const char *p = data, *end = data + size; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

                if (line_is(p, len, "READY=1"))
                        m.ready = true;
                else if (line_is(p, len, "STOPPING=1"))
                        m.stopping = true;
                else if (line_is(p, len, "RELOADING=1"))
                        m.reloading = true;
                else if (line_is(p, len, "WATCHDOG=1"))
                        m.watchdog = true;
                else if (len >= 8 && memcmp(p, "MAINPID=", 8) == 0)
                        m.main_pid = parse_pid(p + 8, len - 8);
                else if (len >= 7 && memcmp(p, "STATUS=", 7) == 0 && !memchr(p, '\0', len) &&
                         !utf8_find_invalid(p + 7, len - 7)) {
                        free(m.status);
                        m.status = strndup(p + 7, len - 7);
                        if (!m.status)
                                return -ENOMEM;
                }
                p += len + 1;
        }

        *ret = m;
        return 0;
}

void notify_message_done(NotifyMessage *m) {
        free(m->status);
        m->status = NULL;
}
