/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl holders: the table of references, one row each, whoever
 * found them; and holders NAME through the daemon, the holder records of
 * its last scan of a watched device. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/array.h"
#include "basic/log.h"
#include "dmwardenctl/ctl.h"
#include "shared/bus-api.h"
#include "shared/bus-error.h"

static const CtlColumn holder_columns[] = {
        CTL_COLUMN("PID", CTL_CELL_U32_ID, CtlHolder, pid, true),
        CTL_COLUMN("TID", CTL_CELL_U64_ID, CtlHolder, tid, false),
        CTL_COLUMN("COMM", CTL_CELL_STRING, CtlHolder, comm, true),
        CTL_COLUMN("UNIT", CTL_CELL_STRING, CtlHolder, unit, true),
        CTL_COLUMN("MNTNS", CTL_CELL_U64_ID, CtlHolder, mntns, true),
        CTL_COLUMN("MOUNT-ID", CTL_CELL_U64_ID, CtlHolder, mount_id, false),
        CTL_COLUMN("ROOT-MEMBER", CTL_CELL_BOOL, CtlHolder, root_member, false),
        CTL_COLUMN("KIND", CTL_CELL_STRING, CtlHolder, kind, true),
        CTL_COLUMN("PATH", CTL_CELL_STRING, CtlHolder, path, true),
};

const CtlTableType ctl_holder_table = {
        .name = "holders",
        .columns = holder_columns,
        .n_columns = ELEMENTSOF(holder_columns),
};

int ctl_print_holders(const CtlOutput *o, const CtlHolder *rows, size_t n) {
        _cleanup_(ctl_table_freep) CtlTable *t = NULL;
        int r;

        r = ctl_table_new(&ctl_holder_table, o, &t);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = ctl_table_add(t, &rows[i]);
        if (r >= 0)
                r = ctl_table_print(t);
        if (r < 0) {
                log_error_errno(r, "Failed to print the holders: %m");
                return EXIT_FAILED;
        }
        return 0;
}

typedef struct HolderRows {
        CtlHolder *rows;
        size_t n;
        size_t allocated;
} HolderRows;

static void holder_rows_done(HolderRows *h) {
        free(h->rows);
}

/* The rows point into m. */
static int read_rows(sd_bus_message *m, HolderRows *h) {
        CtlHolder row;
        int root_member, r;

        r = sd_bus_message_enter_container(m, 'a', "(ussttbsst)");
        while (r >= 0 &&
               (r = sd_bus_message_read(m, "(ussttbsst)", &row.pid, &row.comm, &row.unit, &row.mntns, &row.mount_id,
                                        &root_member, &row.kind, &row.path, &row.tid)) > 0) {
                row.root_member = root_member;
                if (ARRAY_RESERVE(h->rows, h->allocated, h->n + 1) < 0)
                        return -ENOMEM;
                h->rows[h->n++] = row;
        }
        return r;
}

int ctl_holders(sd_bus *bus, const char *name, const CtlOutput *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(holder_rows_done) HolderRows h = {};
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ListHolders", &error,
                               &reply, "s", name);
        if (r < 0 && ctl_daemon_missing(&error))
                return -ESRCH;
        if (r < 0 && sd_bus_error_has_name(&error, BUS_ERROR_NO_SUCH_DEVICE))
                return -ENODEV;
        if (r < 0)
                return ctl_call_failed(r, &error, "list the holders");

        r = read_rows(reply, &h);
        if (r < 0) {
                log_error_errno(r, "Failed to read the daemon's answer: %m");
                return EXIT_FAILED;
        }
        r = ctl_print_holders(o, h.rows, h.n);
        if (r == 0 && ctl_output_summary(o)) {
                fprintf(stderr, "%zu reference%s to ", h.n, h.n == 1 ? "" : "s");
                /* Escaped as in the cells: a newline in a name would break the line. */
                ctl_print_cell(stderr, name, 0);
                fprintf(stderr, " outside the engine's namespace, at dmwardend's last scan.\n");
        }
        return r;
}

int ctl_device_name_by_number(sd_bus *bus, dev_t dev, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(ctl_device_list_done) CtlDeviceList l = {};
        int r;

        r = ctl_get_devices(bus, &l, &error);
        if (r < 0 && ctl_daemon_missing(&error))
                return -ESRCH;
        if (r < 0)
                return ctl_call_failed(r, &error, "list the watched devices");
        for (size_t i = 0; i < l.n; i++)
                if (l.devices[i].major == major(dev) && l.devices[i].minor == minor(dev)) {
                        *ret = strdup(l.devices[i].name);
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENODEV;
}
