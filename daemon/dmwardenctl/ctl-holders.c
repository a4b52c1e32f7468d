/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl holders NAME through the daemon: the holder records of its
 * last scan of a watched device, one row per reference. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/escape.h"
#include "basic/log.h"
#include "dmwardenctl/ctl.h"
#include "shared/bus-api.h"
#include "shared/bus-error.h"

typedef struct Row {
        uint32_t pid;
        const char *comm, *unit;
        uint64_t mntns, mount_id;
        int root_member;
        const char *kind, *path;
        uint64_t tid;
} Row;

static int read_row(sd_bus_message *m, Row *row) {
        return sd_bus_message_read(m, "(ussttbsst)", &row->pid, &row->comm, &row->unit, &row->mntns,
                                   &row->mount_id, &row->root_member, &row->kind, &row->path, &row->tid);
}

static int print_table(sd_bus_message *m, const char *name) {
        size_t n = 0;
        Row row;
        int r;

        printf("%-8s %-16s %-28s %-12s %-11s %s\n", "PID", "COMM", "UNIT", "MNTNS", "KIND", "PATH");
        while ((r = read_row(m, &row)) > 0) {
                if (row.pid > 0)
                        printf("%-8" PRIu32 " ", row.pid);
                else
                        printf("%-8s ", "-");
                ctl_print_cell(stdout, isempty(row.comm) ? "-" : row.comm, 16);
                putchar(' ');
                ctl_print_cell(stdout, isempty(row.unit) ? "-" : row.unit, 28);
                printf(" %-12" PRIu64 " ", row.mntns);
                ctl_print_cell(stdout, row.kind, 11);
                putchar(' ');
                ctl_print_cell(stdout, row.path, 0);
                putchar('\n');
                n++;
        }
        if (r < 0)
                return r;
        printf("\n%zu reference%s to ", n, n == 1 ? "" : "s");
        /* Escaped as in the cells: a newline in a name would break the line. */
        ctl_print_cell(stdout, name, 0);
        printf(" outside the engine's namespace.\n");
        return 0;
}

static int print_json(sd_bus_message *m, const char *name) {
        bool first = true;
        Row row;
        int r;

        fputs("{\"device\":", stdout);
        json_write_string(stdout, name);
        fputs(",\"holders\":[", stdout);
        while ((r = read_row(m, &row)) > 0) {
                printf("%s{\"pid\":%" PRIu32 ",\"comm\":", first ? "" : ",", row.pid);
                json_write_string(stdout, row.comm);
                fputs(",\"unit\":", stdout);
                json_write_string(stdout, row.unit);
                printf(",\"mntns\":%" PRIu64 ",\"mount_id\":%" PRIu64 ",\"root_member\":%s,\"kind\":", row.mntns,
                       row.mount_id, row.root_member ? "true" : "false");
                json_write_string(stdout, row.kind);
                fputs(",\"path\":", stdout);
                json_write_string(stdout, row.path);
                printf(",\"tid\":%" PRIu64 "}", row.tid);
                first = false;
        }
        if (r < 0)
                return r;
        fputs("]}\n", stdout);
        return 0;
}

int ctl_holders(sd_bus *bus, const char *name, bool json) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ListHolders", &error,
                               &reply, "s", name);
        if (r < 0 && ctl_daemon_missing(&error))
                return -ESRCH;
        if (r < 0 && sd_bus_error_has_name(&error, BUS_ERROR_NO_SUCH_DEVICE))
                return -ENODEV;
        if (r < 0)
                return ctl_call_failed(r, &error, "list the holders");

        r = sd_bus_message_enter_container(reply, 'a', "(ussttbsst)");
        if (r >= 0)
                r = json ? print_json(reply, name) : print_table(reply, name);
        if (r < 0) {
                log_error_errno(r, "Failed to read the daemon's answer: %m");
                return EXIT_FAILED;
        }
        return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
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
