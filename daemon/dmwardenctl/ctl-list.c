/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl list: every watched device and where it is in its life. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "dmwardenctl/ctl.h"

static char *format_devnum(const void *row) {
        const CtlDevice *d = row;
        char *text = NULL;

        return asprintf(&text, "%" PRIu32 ":%" PRIu32, d->major, d->minor) < 0 ? NULL : text;
}

static const CtlColumn device_columns[] = {
        CTL_COLUMN("NAME", CTL_CELL_STRING, CtlDevice, name, true),
        CTL_COLUMN("STATE", CTL_CELL_STRING, CtlDevice, state, true),
        CTL_COLUMN("TARGET", CTL_CELL_STRING, CtlDevice, target, true),
        CTL_COLUMN("POOL", CTL_CELL_STRING, CtlDevice, pool, true),
        { .name = "MAJ:MIN", .type = CTL_CELL_FUNC, .shown = true, .format = format_devnum },
        CTL_COLUMN("OPEN", CTL_CELL_U32_COUNT, CtlDevice, open_count, true),
        CTL_COLUMN("HOLDERS", CTL_CELL_U32, CtlDevice, n_holders, true),
        CTL_COLUMN("MAPPED", CTL_CELL_U64_COUNT, CtlDevice, mapped_bytes, true),
        CTL_COLUMN("LEAKED-SINCE", CTL_CELL_TIMESTAMP, CtlDevice, leaked_since_usec, true),
        CTL_COLUMN("STATE-SINCE", CTL_CELL_TIMESTAMP, CtlDevice, state_since_usec, false),
        CTL_COLUMN("LAST-ACTION", CTL_CELL_STRING, CtlDevice, last_action, false),
        CTL_COLUMN("UUID", CTL_CELL_STRING, CtlDevice, uuid, false),
        CTL_COLUMN("MAJ", CTL_CELL_U32, CtlDevice, major, false),
        CTL_COLUMN("MIN", CTL_CELL_U32, CtlDevice, minor, false),
        CTL_COLUMN("PATH", CTL_CELL_STRING, CtlDevice, path, false),
};

const CtlTableType ctl_device_table = {
        .name = "devices",
        .columns = device_columns,
        .n_columns = ELEMENTSOF(device_columns),
};

int ctl_print_devices(const CtlOutput *o, const CtlDevice *devices, size_t n, bool (*filter)(const CtlDevice *d)) {
        _cleanup_(ctl_table_freep) CtlTable *t = NULL;
        int r;

        r = ctl_table_new(&ctl_device_table, o, &t);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (!filter || filter(&devices[i]))
                        r = ctl_table_add(t, &devices[i]);
        if (r >= 0)
                r = ctl_table_print(t);
        if (r < 0) {
                log_error_errno(r, "Failed to print the devices: %m");
                return EXIT_FAILED;
        }
        return 0;
}

int ctl_list(sd_bus *bus, const CtlOutput *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(ctl_device_list_done) CtlDeviceList l = {};
        int r;

        r = ctl_get_devices(bus, &l, &error);
        if (r < 0)
                return ctl_call_failed(r, &error, "list the devices");
        r = ctl_print_devices(o, l.devices, l.n, NULL);
        if (r == 0 && ctl_output_summary(o))
                fprintf(stderr, "%zu device%s listed.\n", l.n, l.n == 1 ? "" : "s");
        return r;
}
