/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* restart-unit where systemd is not the service manager: the failure must
 * say so, at once or when the bus answers, never hang or crash. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reap/reap-unit.h"

Test(reap_unit, no_system_bus_fails_at_once_and_says_why) {
        _cleanup_free_ char *message = NULL;
        ReapUnitCall *call = NULL;
        sd_event *e = NULL;
        int r;

        cr_assert_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/dmwarden-test-bus", 1), 0);
        cr_assert_geq(sd_event_new(&e), 0);
        r = reap_unit_restart(e, "backup.service", NULL, NULL, &call, &message);
        cr_assert_lt(r, 0);
        cr_assert_null(call);
        cr_assert_not_null(message);
        cr_assert_not_null(strstr(message, "cannot reach systemd on the system bus"), "%s", message);
        cr_assert_not_null(strstr(message, "restart-unit needs systemd"), "%s", message);
        sd_event_unref(e);
}

typedef struct Reply {
        int error;
        char message[512];
        bool done;
} Reply;

static void on_done(int error, const char *message, void *userdata) {
        Reply *r = userdata;

        r->error = error;
        snprintf(r->message, sizeof(r->message), "%s", message);
        r->done = true;
}

/* A bus with nobody owning org.freedesktop.systemd1. */
Test(reap_unit, a_bus_without_systemd_answers_with_a_clear_error) {
        _cleanup_free_ char *message = NULL;
        char address[512] = "";
        ReapUnitCall *call = NULL;
        Reply reply = {};
        sd_event *e = NULL;
        FILE *p;
        pid_t bus_pid = 0;

        if (system("command -v dbus-daemon >/dev/null 2>&1") != 0)
                cr_skip_test("no dbus-daemon here");
        p = popen("dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1", "r");
        cr_assert_not_null(p);
        cr_assert_not_null(fgets(address, sizeof(address), p));
        cr_assert_eq(fscanf(p, "%d", &bus_pid), 1);
        pclose(p);
        address[strcspn(address, "\n")] = '\0';

        cr_assert_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_eq(reap_unit_restart(e, "backup.service", on_done, &reply, &call, &message), 0, "%s",
                     message ?: "");
        for (int i = 0; i < 200 && !reply.done; i++)
                cr_assert_geq(sd_event_run(e, 100 * 1000), 0);
        reap_unit_call_free(call);
        sd_event_unref(e);
        (void) kill(bus_pid, SIGTERM);

        cr_assert(reply.done, "no answer from the bus");
        cr_assert_lt(reply.error, 0);
        cr_assert_not_null(strstr(reply.message, "systemd is not on the system bus"), "%s", reply.message);
}
