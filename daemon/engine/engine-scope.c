/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>
#include <time.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "engine/engine-scope.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"

int engine_scope_name(char **ret_scope, char **ret_unit, const char **ret_why) {
        _cleanup_free_ char *unit = NULL;
        const char *suffix;
        int r;

        *ret_why = NULL;
        if (sd_booted() <= 0) {
                *ret_why = "systemd is not the init system";
                return -ENXIO;
        }
        r = sd_pid_get_unit(0, &unit);
        if (r < 0) {
                *ret_why = "dmwardend runs in no systemd unit";
                return -ENXIO;
        }
        suffix = strrchr(unit, '.');
        if (!suffix || !streq(suffix, ".service")) {
                *ret_why = "dmwardend does not run as a service";
                return -ENXIO;
        }
        if (asprintf(ret_scope, "%.*s-engine.scope", (int) (suffix - unit), unit) < 0)
                return -ENOMEM;
        *ret_unit = TAKE_PTR(unit);
        return 0;
}

int engine_scope_contains(const char *scope, pid_t pid) {
        _cleanup_free_ char *unit = NULL;
        int r;

        r = sd_pid_get_unit(pid, &unit);
        if (r == -ENODATA)
                return 0;
        if (r < 0)
                return r;
        return streq(unit, scope);
}

static int call_start_transient(sd_bus *bus, const char *scope, const char *our_unit, pid_t pid,
                                sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "StartTransientUnit");
        if (r < 0)
                return r;
        /* "fail": a stop job queued for a scope of that name is an error,
         * not something to replace. */
        r = sd_bus_message_append(m, "ss", scope, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sv)", 5,
                                  "Description", "s", "Container engine run by dmwardend",
                                  "PIDs", "au", 1, (uint32_t) pid,
                                  /* The engine manages the cgroups below it (cgroupfs driver). */
                                  "Delegate", "b", 1,
                                  /* A failed scope would keep the name from the next engine. */
                                  "CollectMode", "s", "inactive-or-failed",
                                  /* Stopped in reverse: dmwardend stops the engine
                                   * gracefully first, then systemd the scope. */
                                  "Before", "as", 1, our_unit);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, ENGINE_SCOPE_TIMEOUT_USEC, error, NULL);
}

static int call_attach(sd_bus *bus, const char *scope, pid_t pid, sd_bus_error *error) {
        return sd_bus_call_method(bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "AttachProcessesToUnit",
                                  error, NULL, "ssau", scope, "", 1, (uint32_t) pid);
}

/* The reply comes when the start job is queued; the move happens when it
 * runs. The engine must be in the scope before it forks anything. */
static int wait_in_scope(const char *scope, pid_t pid) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + ENGINE_SCOPE_TIMEOUT_USEC;
        int r;

        for (;;) {
                r = engine_scope_contains(scope, pid);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (now_usec(CLOCK_MONOTONIC) >= end)
                        return -ETIMEDOUT;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
}

static int bus_open(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_method_call_timeout(bus, ENGINE_SCOPE_TIMEOUT_USEC);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int engine_scope_attach(const char *scope, const char *our_unit, pid_t pid) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        usec_t end = now_usec(CLOCK_MONOTONIC) + ENGINE_SCOPE_TIMEOUT_USEC;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = call_start_transient(bus, scope, our_unit, pid, &error);
                if (r >= 0 || !sd_bus_error_has_name(&error, "org.freedesktop.systemd1.UnitExists"))
                        break;
                /* The last engine left something running in it; or it is
                 * on its way out (emptied, not yet collected): then wait. */
                sd_bus_error_free(&error);
                r = call_attach(bus, scope, pid, &error);
                if (r >= 0 || now_usec(CLOCK_MONOTONIC) >= end)
                        break;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        if (r < 0)
                return r;
        return wait_in_scope(scope, pid);
}

int engine_scope_kill(const char *scope) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "KillUnit", &error, NULL, "ssi",
                               scope, "all", SIGKILL);
        if (r < 0 && (sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit") ||
                      sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchProcess")))
                return 0;
        return r;
}
