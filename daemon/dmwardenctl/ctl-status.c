/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl status: the manager's properties, one row of columns that a
 * person reads as lines. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "shared/bus-api.h"
#include "dmwardenctl/ctl.h"

static const CtlColumn status_columns[] = {
        CTL_COLUMN("VERSION", CTL_CELL_STRING, CtlManager, version, true),
        CTL_COLUMN("ENGINE", CTL_CELL_STRING, CtlManager, engine_state, true),
        CTL_COLUMN("ENGINE-PID", CTL_CELL_U32_ID, CtlManager, engine_pid, true),
        CTL_COLUMN("ENGINE-MNTNS", CTL_CELL_U64_ID, CtlManager, engine_namespace, true),
        CTL_COLUMN("ENGINE-MNTNS-PATH", CTL_CELL_STRING, CtlManager, engine_namespace_path, true),
        CTL_COLUMN("PROPAGATION", CTL_CELL_STRING, CtlManager, propagation, true),
        CTL_COLUMN("DEFAULT-ACTION", CTL_CELL_STRING, CtlManager, default_action, true),
        CTL_COLUMN("WATCHED", CTL_CELL_U32, CtlManager, watched, true),
        CTL_COLUMN("LEAKED", CTL_CELL_U32, CtlManager, leaked, true),
        CTL_COLUMN("HOLDERS-REAPED", CTL_CELL_U64, CtlManager, holders_reaped, true),
        CTL_COLUMN("DEVICES-REMOVED", CTL_CELL_U64, CtlManager, devices_removed, true),
        CTL_COLUMN("LAST-SCAN", CTL_CELL_TIMESTAMP, CtlManager, last_scan_usec, true),
        CTL_COLUMN("LAST-SCAN-TOOK", CTL_CELL_TIMESPAN, CtlManager, last_scan_duration_usec, true),
        CTL_COLUMN("WALK", CTL_CELL_STRING, CtlManager, process_walk, true),
        CTL_COLUMN("WALK-UNAVAILABLE", CTL_CELL_STRING, CtlManager, process_walk_unavailable, true),
        CTL_COLUMN("LEAKED-BYTES", CTL_CELL_U64, CtlManager, leaked_bytes, true),
        CTL_COLUMN("POOLS", CTL_CELL_STRING, CtlManager, pools, true),
};

static double percent(uint64_t used, uint64_t total) {
        return total > 0 ? 100.0 * (double) used / (double) total : 0.0;
}

/* "NAME data 62.5% of 67108864, metadata 1.2% of 16777216, leaked
 * 41943040" for each thin pool, joined by "; "; what the bytes leaked
 * devices hold in them add up to. An older daemon without Pools: "". */
static int read_pools(sd_bus *bus, char **ret_text, uint64_t *ret_leaked) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *text = NULL;
        uint64_t du, dt, mu, mt, leaked, sum = 0;
        size_t size = 0;
        const char *name;
        FILE *f;
        int r;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        r = sd_bus_get_property(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Pools", &error, &reply,
                                "a" BUS_POOL);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', BUS_POOL);
        for (bool first = true; r >= 0 && sd_bus_message_read(reply, BUS_POOL, &name, &du, &dt, &mu, &mt, &leaked) > 0;
             first = false) {
                fprintf(f, "%s%s data %.1f%% of %" PRIu64 ", metadata %.1f%% of %" PRIu64 ", leaked %" PRIu64,
                        first ? "" : "; ", name, percent(du, dt), dt, percent(mu, mt), mt, leaked);
                sum += leaked;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        *ret_leaked = sum;
        return 0;
}

const CtlTableType ctl_status_table = {
        .name = "status",
        .columns = status_columns,
        .n_columns = ELEMENTSOF(status_columns),
        .vertical = true,
};

int ctl_status(sd_bus *bus, const CtlOutput *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(ctl_table_freep) CtlTable *t = NULL;
        _cleanup_free_ char *pools = NULL;
        CtlManager s = {};
        int r;

        r = ctl_get_manager(bus, &s, "read the daemon's status", &reply);
        if (r != 0)
                return r;
        r = read_pools(bus, &pools, &s.leaked_bytes);
        if (r < 0)
                return log_oom(), EXIT_FAILED;
        s.pools = pools;
        r = ctl_table_new(&ctl_status_table, o, &t);
        if (r >= 0)
                r = ctl_table_add(t, &s);
        if (r >= 0)
                r = ctl_table_print(t);
        if (r < 0) {
                log_error_errno(r, "Failed to print the status: %m");
                return EXIT_FAILED;
        }
        return 0;
}
