/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl status: the manager's properties, for people or programs. */
#include <inttypes.h>

#include "basic/escape.h"
#include "basic/log.h"
#include "dmwardenctl/ctl.h"
#include "shared/bus-api.h"

/* "12.3%": per mille, as df rounds. */
static void print_fill(uint64_t used, uint64_t total) {
        uint64_t pm = total > 0 ? (uint64_t) ((unsigned __int128) used * 1000 / total) : 0;

        printf("%" PRIu64 ".%" PRIu64 "%%", pm / 10, pm % 10);
}

/* The Pools property, read apart from GetAll so a daemon without it still
 * answers the rest. */
static void print_pools(sd_bus *bus, bool json) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name;
        uint64_t du, dt, mu, mt, leaked;
        bool first = true;

        if (sd_bus_get_property(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Pools", &error, &reply,
                                "a" BUS_POOL) < 0 ||
            sd_bus_message_enter_container(reply, 'a', BUS_POOL) < 0) {
                if (json)
                        fputs("[]", stdout);
                return;
        }
        while (sd_bus_message_read(reply, BUS_POOL, &name, &du, &dt, &mu, &mt, &leaked) > 0) {
                if (json) {
                        fputs(first ? "[{\"Name\":" : ",{\"Name\":", stdout);
                        json_write_string(stdout, name);
                        printf(",\"DataUsedBytes\":%" PRIu64 ",\"DataTotalBytes\":%" PRIu64
                               ",\"MetadataUsedBytes\":%" PRIu64 ",\"MetadataTotalBytes\":%" PRIu64
                               ",\"LeakedBytes\":%" PRIu64 "}",
                               du, dt, mu, mt, leaked);
                } else {
                        printf(first ? "          Pools: %s: data " : "                 %s: data ", name);
                        print_fill(du, dt);
                        fputs(", metadata ", stdout);
                        print_fill(mu, mt);
                        printf(", %" PRIu64 " bytes leaked\n", leaked);
                }
                first = false;
        }
        if (json)
                fputs(first ? "[]" : "]", stdout);
}

static void print_table(const CtlManager *s) {
        char when[CTL_TIMESTAMP_MAX], took[FORMAT_TIMESPAN_MAX];

        printf("        Version: %s\n", strna(s->version));
        printf("         Engine: %s (PID %" PRIu32 ")\n", strna(s->engine_state), s->engine_pid);
        printf("      Namespace: %" PRIu64 " (%s)\n", s->engine_namespace, strna(s->engine_namespace_path));
        printf("    Propagation: %s\n", strna(s->propagation));
        printf(" Default action: %s\n", strna(s->default_action));
        printf("        Devices: %" PRIu32 " watched, %" PRIu32 " leaked\n", s->watched, s->leaked);
        printf(" Holders reaped: %" PRIu64 "\n", s->holders_reaped);
        printf("Devices removed: %" PRIu64 "\n", s->devices_removed);
        printf("      Last scan: %s", ctl_format_timestamp(when, sizeof(when), s->last_scan_usec));
        if (s->last_scan_usec > 0)
                printf(", took %s", format_timespan(took, sizeof(took), s->last_scan_duration_usec));
        putchar('\n');
}

static void print_json_field(const char *key, const char *value, bool last) {
        printf("\"%s\":", key);
        json_write_string(stdout, value);
        fputs(last ? "}\n" : ",", stdout);
}

static void print_json(const CtlManager *s) {
        fputc('{', stdout);
        print_json_field("Version", s->version, false);
        print_json_field("EngineState", s->engine_state, false);
        printf("\"EnginePID\":%" PRIu32 ",\"EngineNamespace\":%" PRIu64 ",", s->engine_pid, s->engine_namespace);
        print_json_field("EngineNamespacePath", s->engine_namespace_path, false);
        print_json_field("Propagation", s->propagation, false);
        print_json_field("DefaultAction", s->default_action, false);
        printf("\"WatchedDevices\":%" PRIu32 ",\"LeakedDevices\":%" PRIu32 ",\"HoldersReaped\":%" PRIu64
               ",\"DevicesRemoved\":%" PRIu64 ",\"LastScanUSec\":%" PRIu64 ",\"LastScanDurationUSec\":%" PRIu64
               ",\"Pools\":",
               s->watched, s->leaked, s->holders_reaped, s->devices_removed, s->last_scan_usec,
               s->last_scan_duration_usec);
}

int ctl_status(sd_bus *bus, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        CtlManager s = {};
        int r;

        r = ctl_get_manager(bus, &s, "read the daemon's status", &reply);
        if (r != 0)
                return r;
        if (json) {
                print_json(&s);
                print_pools(bus, true);
                fputs("}\n", stdout);
        } else {
                print_table(&s);
                print_pools(bus, false);
        }
        return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}
