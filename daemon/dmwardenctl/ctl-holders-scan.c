/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl holders scanning here: the scan turned into the rows
 * dmwardend would send for it (holder_records_from_scan(), strings in
 * their bus form), so a scan here and the daemon's answer read the same. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/array.h"
#include "basic/log.h"
#include "dmwardenctl/ctl-holders-scan.h"
#include "holders/holder-records.h"
#include "holders/holders-format.h"
#include "shared/bus-names.h"

typedef struct Rows {
        CtlHolder *rows;
        size_t n;
        size_t allocated;
} Rows;

static void rows_done(Rows *r) {
        for (size_t i = 0; i < r->n; i++) {
                free((char *) r->rows[i].comm);
                free((char *) r->rows[i].unit);
                free((char *) r->rows[i].path);
                free((char *) r->rows[i].kind);
        }
        free(r->rows);
}

/* Appends row with copies of its strings made as the bus makes them. */
static int rows_add(Rows *r, CtlHolder row) {
        _cleanup_free_ char *comm = NULL, *unit = NULL, *path = NULL, *kind = strdup(row.kind);

        if (!kind || bus_string_from_kernel(strempty(row.comm), &comm) < 0 ||
            bus_string_from_kernel(strempty(row.unit), &unit) < 0 ||
            bus_string_from_kernel(strempty(row.path), &path) < 0)
                return -ENOMEM;
        if (ARRAY_RESERVE(r->rows, r->allocated, r->n + 1) < 0)
                return -ENOMEM;
        row.comm = TAKE_PTR(comm);
        row.unit = TAKE_PTR(unit);
        row.path = TAKE_PTR(path);
        row.kind = TAKE_PTR(kind);
        r->rows[r->n++] = row;
        return 0;
}

static bool rows_name_pid(const Rows *r, pid_t pid) {
        for (size_t i = 0; i < r->n; i++)
                if (r->rows[i].pid == (uint32_t) pid)
                        return true;
        return false;
}

/* --full: the processes of holding namespaces no row names yet. */
static int add_members(Rows *rows, const HolderScan *s) {
        int r;

        for (size_t i = 0; i < s->n_namespaces; i++)
                for (size_t j = 0; j < s->namespaces[i].n_processes; j++) {
                        const Holder *h = &s->namespaces[i].processes[j];

                        if (rows_name_pid(rows, h->pid))
                                continue;
                        r = rows_add(rows, (CtlHolder) { .pid = (uint32_t) h->pid, .comm = h->comm, .unit = h->unit,
                                                         .mntns = s->namespaces[i].ino, .root_member = h->root_member,
                                                         .kind = "member", .tid = (uint64_t) h->tid });
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int make_rows(const HolderScan *s, int open_count, bool full, Rows *rows) {
        _cleanup_(holder_records_done) HolderRecords records = {};
        int r;

        /* Every namespace counts: here there is no engine to leave out. */
        r = holder_records_from_scan(s, 0, NULL, &records);
        if (r >= 0 && records.n_rows == 0 && open_count > 0)
                r = holder_records_add_unexplained(&records, (unsigned) open_count, s->n_processes_inaccessible);
        for (size_t i = 0; r >= 0 && i < records.n_rows; i++) {
                const HolderRecord *h = &records.rows[i];

                r = rows_add(rows, (CtlHolder) { .pid = (uint32_t) h->pid, .comm = h->comm, .unit = h->unit,
                                                 .mntns = h->mntns, .mount_id = h->mount_id,
                                                 .root_member = h->root_member, .kind = h->kind, .path = h->path,
                                                 .tid = h->tid });
        }
        if (r >= 0 && full)
                r = add_members(rows, s);
        return r;
}

static void print_summary(const HolderScan *s, const char *device, size_t n) {
        if (n == 0)
                fputs("Nothing holds ", stderr);
        else
                fprintf(stderr, "%zu reference%s to ", n, n == 1 ? "" : "s");
        ctl_print_cell(stderr, device, 0);
        fprintf(stderr, " (%u:%u).\n", major(s->dev), minor(s->dev));
        holders_print_summary(stderr, s);
}

int ctl_print_scan(const CtlOutput *o, const HolderScan *s, const char *device, int open_count, bool full) {
        _cleanup_(rows_done) Rows rows = {};
        int r;

        r = make_rows(s, open_count, full, &rows);
        if (r < 0) {
                log_error_errno(r, "Failed to list the holders: %m");
                return EXIT_FAILED;
        }
        r = ctl_print_holders(o, rows.rows, rows.n);
        if (r == 0 && ctl_output_summary(o))
                print_summary(s, device, rows.n);
        return r;
}
