/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl status: the manager's properties, one row of columns that a
 * person reads as lines. */
#include "basic/log.h"
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
};

const CtlTableType ctl_status_table = {
        .name = "status",
        .columns = status_columns,
        .n_columns = ELEMENTSOF(status_columns),
        .vertical = true,
};

int ctl_status(sd_bus *bus, const CtlOutput *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(ctl_table_freep) CtlTable *t = NULL;
        CtlManager s = {};
        int r;

        r = ctl_get_manager(bus, &s, "read the daemon's status", &reply);
        if (r != 0)
                return r;
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
