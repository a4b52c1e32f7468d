/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl scan, reap and remove: the managing methods, which the daemon
 * lets through for root or whom polkit authorizes, and what they left. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "dmwardenctl/ctl.h"
#include "shared/bus-api.h"
#include "shared/bus-error.h"

/* Reaping may signal and wait GraceSec= for a holder to go, and polkit may
 * ask the operator for a password: far longer than sd-bus's 25 s. */
#define CTL_MANAGE_TIMEOUT_USEC (5 * USEC_PER_MINUTE)

/* Calls a Manager method with string arguments (NULL-terminated). Returns
 * 0, or the exit status with the reason logged. */
static int call_manage(sd_bus *bus, const char *method, const char *what, const char *const *args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, method);
        for (; r >= 0 && args && *args; args++)
                r = sd_bus_message_append_basic(m, 's', *args);
        /* Someone at a terminal can answer a polkit agent's question. */
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, isatty(STDIN_FILENO) > 0);
        if (r < 0) {
                log_error_errno(r, "Failed to build the %s call: %m", method);
                return EXIT_FAILED;
        }
        r = sd_bus_call(bus, m, CTL_MANAGE_TIMEOUT_USEC, &error, NULL);
        if (r < 0)
                return ctl_call_failed(r, &error, what);
        return 0;
}

/* What an operator looks at next: devices a scan found held. */
static bool is_held(const CtlDevice *d) {
        return d->state && (streq(d->state, "leaked") || streq(d->state, "reaping") || streq(d->state, "stuck"));
}

static void print_scan_summary(const CtlManager *s) {
        char took[FORMAT_TIMESPAN_MAX];

        fprintf(stderr, "Scanned %" PRIu32 " watched device%s in %s: %" PRIu32 " leaked.\n", s->watched,
                s->watched == 1 ? "" : "s", format_timespan(took, sizeof(took), s->last_scan_duration_usec),
                s->leaked);
}

int ctl_scan(sd_bus *bus, const CtlOutput *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(ctl_device_list_done) CtlDeviceList l = {};
        CtlManager s = {};
        int r;

        r = call_manage(bus, "Scan", "scan the devices", NULL);
        if (r != 0)
                return r;
        r = ctl_get_manager(bus, &s, "read the scan's result", &reply);
        if (r != 0)
                return r;
        r = ctl_get_devices(bus, &l, &error);
        if (r < 0)
                return ctl_call_failed(r, &error, "list the devices");

        if (ctl_output_summary(o))
                print_scan_summary(&s);
        return ctl_print_devices(o, l.devices, l.n, is_held);
}

/* The device's state and last action after an action; "removed" when the
 * daemon no longer has it. The strings are the caller's to free. */
static int read_outcome(sd_bus *bus, const char *name, char **ret_state, char **ret_last_action) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        *ret_state = *ret_last_action = NULL;
        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetDevice", &error, &reply,
                               "s", name);
        if (r < 0 && sd_bus_error_has_name(&error, BUS_ERROR_NO_SUCH_DEVICE)) {
                *ret_state = strdup("removed");
                return *ret_state ? 0 : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "State", &error,
                                               ret_state);
        /* Gone between the two calls: removed just now. */
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT)) {
                *ret_state = strdup("removed");
                return *ret_state ? 0 : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_get_property_string(bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "LastAction", &error,
                                               ret_last_action);
        return r;
}

typedef struct Outcome {
        const char *name;
        const char *action;
        const char *state;
        const char *last_action;
} Outcome;

static const CtlColumn outcome_columns[] = {
        CTL_COLUMN("NAME", CTL_CELL_STRING, Outcome, name, true),
        CTL_COLUMN("ACTION", CTL_CELL_STRING, Outcome, action, true),
        CTL_COLUMN("STATE", CTL_CELL_STRING, Outcome, state, true),
        CTL_COLUMN("LAST-ACTION", CTL_CELL_STRING, Outcome, last_action, true),
};

static const CtlTableType outcome_table = {
        .name = "actions",
        .columns = outcome_columns,
        .n_columns = ELEMENTSOF(outcome_columns),
};

static int print_outcome_json(const Outcome *outcome) {
        _cleanup_(ctl_table_freep) CtlTable *t = NULL;
        int r;

        r = ctl_table_new(&outcome_table, &(CtlOutput) { .json = true }, &t);
        if (r >= 0)
                r = ctl_table_add(t, outcome);
        if (r >= 0)
                r = ctl_table_print(t);
        if (r < 0) {
                log_error_errno(r, "Failed to print the outcome: %m");
                return EXIT_FAILED;
        }
        return 0;
}

static void print_outcome_text(const Outcome *outcome, bool remove) {
        ctl_print_cell(stdout, outcome->name, 0);
        if (remove)
                printf(": removal requested; now %s", outcome->state);
        else
                printf(": %s done; now %s", outcome->action, outcome->state);
        if (!isempty(outcome->last_action)) {
                fputs(" (last action: ", stdout);
                ctl_print_cell(stdout, outcome->last_action, 0);
                putchar(')');
        }
        fputs(".\n", stdout);
}

/* action: what reap ran, NULL for remove. */
static int print_outcome(sd_bus *bus, const char *name, const char *action, bool json) {
        _cleanup_free_ char *state = NULL, *last_action = NULL;
        Outcome outcome;
        int r;

        r = read_outcome(bus, name, &state, &last_action);
        if (r < 0) {
                /* The action itself succeeded; only the report is missing. */
                log_warning_errno(r, "Done, but failed to read the state of %s afterwards: %m", name);
                return 0;
        }
        outcome = (Outcome) { name, action ?: "remove", state, last_action };
        if (json)
                return print_outcome_json(&outcome);
        print_outcome_text(&outcome, !action);
        return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}

int ctl_reap(sd_bus *bus, const char *name, const char *action, bool json) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *default_action = NULL;
        int r;

        if (!action) {
                r = sd_bus_get_property_string(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                               "DefaultAction", &error, &default_action);
                if (r < 0)
                        return ctl_call_failed(r, &error, "read the daemon's default action");
                action = default_action;
        }

        r = call_manage(bus, "Reap", "reap the holders", (const char *const[]) { name, action, NULL });
        if (r != 0)
                return r;
        return print_outcome(bus, name, action, json);
}

int ctl_remove(sd_bus *bus, const char *name, bool json) {
        int r;

        r = call_manage(bus, "Remove", "remove the device", (const char *const[]) { name, NULL });
        if (r != 0)
                return r;
        return print_outcome(bus, name, NULL, json);
}
