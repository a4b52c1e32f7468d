/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/notify-message.h"

static NotifyMessage parse(const char *text, size_t size) {
        NotifyMessage m;

        cr_assert_eq(notify_message_parse(text, size, &m), 0);
        return m;
}

Test(notify_message, ready_status_and_mainpid) {
        const char text[] = "READY=1\nSTATUS=Daemon has completed initialization\nMAINPID=4242\n";
        NotifyMessage m = parse(text, strlen(text));

        cr_assert(m.ready);
        cr_assert(!m.stopping);
        cr_assert_str_eq(m.status, "Daemon has completed initialization");
        cr_assert_eq(m.main_pid, 4242);
        notify_message_done(&m);
}

Test(notify_message, last_line_needs_no_newline_and_unknown_keys_are_ignored) {
        const char text[] = "X_FOO=bar\nSTOPPING=1";
        NotifyMessage m = parse(text, strlen(text));

        cr_assert(m.stopping);
        cr_assert(!m.ready);
        cr_assert_null(m.status);
}

Test(notify_message, rejects_near_misses_and_bad_values) {
        const char text[] = "READY=10\nREADY\nMAINPID=1\nMAINPID=12x\nSTATUS=bad\xff\n";
        NotifyMessage m = parse(text, strlen(text));

        cr_assert(!m.ready);
        cr_assert_eq(m.main_pid, 0, "PID 1 and garbage are never taken as the engine");
        cr_assert_null(m.status, "non-UTF-8 status is dropped");
}

Test(notify_message, embedded_nul_does_not_end_parsing) {
        const char text[] = "STATUS=a\0b\nREADY=1\n";
        NotifyMessage m = parse(text, sizeof(text) - 1);

        cr_assert(m.ready);
        cr_assert_null(m.status);
}
