/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl list: every watched device and where it is in its life. */
#include <inttypes.h>
#include <stdlib.h>

#include "basic/escape.h"
#include "basic/log.h"
#include "dmwardenctl/ctl.h"

static void print_table(const CtlDevice *devices, size_t n) {
        char when[CTL_TIMESTAMP_MAX], number[32];

        printf("%-32s %-9s %-8s %-20s %-9s %5s %7s %12s  %s\n", "NAME", "STATE", "TARGET", "POOL", "DEVICE", "OPEN",
               "HOLDERS", "MAPPED", "LEAKED SINCE");
        for (size_t i = 0; i < n; i++) {
                const CtlDevice *d = &devices[i];

                ctl_print_cell(stdout, d->name, 32);
                putchar(' ');
                ctl_print_cell(stdout, d->state, 9);
                putchar(' ');
                ctl_print_cell(stdout, d->target, 8);
                putchar(' ');
                ctl_print_cell(stdout, isempty(d->pool) ? "-" : d->pool, 20);
                (void) snprintf(number, sizeof(number), "%" PRIu32 ":%" PRIu32, d->major, d->minor);
                printf(" %-9s ", number);
                if (d->open_count == UINT32_MAX)
                        printf("%5s", "?");
                else
                        printf("%5" PRIu32, d->open_count);
                printf(" %7" PRIu32, d->n_holders);
                if (d->mapped_bytes == UINT64_MAX)
                        printf(" %12s", "-");
                else
                        printf(" %12" PRIu64, d->mapped_bytes);
                printf("  %s\n",
                       ctl_format_timestamp(when, sizeof(when), d->leaked_since_usec));
        }
        printf("\n%zu device%s listed.\n", n, n == 1 ? "" : "s");
}

static void print_json_string(const char *key, const char *value) {
        printf(",\"%s\":", key);
        json_write_string(stdout, value);
}

static void print_json(const CtlDevice *devices, size_t n) {
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++) {
                const CtlDevice *d = &devices[i];

                fputs(i > 0 ? ",{\"Name\":" : "{\"Name\":", stdout);
                json_write_string(stdout, d->name);
                print_json_string("Path", d->path);
                print_json_string("State", d->state);
                print_json_string("UUID", d->uuid);
                print_json_string("Target", d->target);
                print_json_string("Pool", d->pool);
                print_json_string("LastAction", d->last_action);
                printf(",\"Major\":%" PRIu32 ",\"Minor\":%" PRIu32, d->major, d->minor);
                if (d->open_count == UINT32_MAX)
                        fputs(",\"OpenCount\":null", stdout);
                else
                        printf(",\"OpenCount\":%" PRIu32, d->open_count);
                if (d->mapped_bytes == UINT64_MAX)
                        fputs(",\"MappedBytes\":null", stdout);
                else
                        printf(",\"MappedBytes\":%" PRIu64, d->mapped_bytes);
                printf(",\"Holders\":%" PRIu32 ",\"LeakedSinceUSec\":%" PRIu64 ",\"StateSinceUSec\":%" PRIu64 "}",
                       d->n_holders, d->leaked_since_usec, d->state_since_usec);
        }
        fputs("]\n", stdout);
}

int ctl_list(sd_bus *bus, bool json) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(ctl_device_list_done) CtlDeviceList l = {};
        int r;

        r = ctl_get_devices(bus, &l, &error);
        if (r < 0)
                return ctl_call_failed(r, &error, "list the devices");
        if (json)
                print_json(l.devices, l.n);
        else
                print_table(l.devices, l.n);
        return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}
