/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "holders/holder-records.h"

static void holder_record_done(HolderRecord *r) {
        free(r->comm);
        free(r->unit);
        free(r->kind);
        free(r->path);
}

void holder_records_done(HolderRecords *r) {
        for (size_t i = 0; i < r->n_rows; i++)
                holder_record_done(&r->rows[i]);
        free(r->rows);
        *r = (HolderRecords) {};
}

/* Appends a row; strings are copied, NULL becomes "". */
static int records_add(HolderRecords *r, const HolderRecord *tmpl, const char *comm, const char *unit,
                       const char *kind, const char *path) {
        HolderRecord row = *tmpl;

        if (ARRAY_RESERVE(r->rows, r->n_rows_allocated, r->n_rows + 1) < 0)
                return -ENOMEM;

        row.comm = strdup(comm ?: "");
        row.unit = strdup(unit ?: "");
        row.kind = strdup(kind);
        row.path = strdup(path ?: "");
        if (!row.comm || !row.unit || !row.kind || !row.path) {
                holder_record_done(&row);
                return -ENOMEM;
        }
        r->rows[r->n_rows++] = row;
        return 0;
}

/* Who a namespace's mounts are attributed to: its first root member, else
 * its first described process, else nobody (a process-less namespace). */
static const Holder *namespace_owner(const HolderNamespace *ns) {
        for (size_t i = 0; i < ns->n_processes; i++)
                if (ns->processes[i].root_member)
                        return &ns->processes[i];
        return ns->n_processes > 0 ? &ns->processes[0] : NULL;
}

static int add_namespace(HolderRecords *out, const HolderNamespace *ns) {
        const Holder *owner = namespace_owner(ns);
        int r;

        for (size_t i = 0; ns->mount_points && ns->mount_points[i]; i++) {
                HolderRecord t = {
                        .pid = owner ? owner->pid : 0,
                        .tid = owner ? (uint64_t) owner->tid : 0,
                        .mntns = ns->ino,
                        .mount_id = ns->mount_ids ? ns->mount_ids[i] : 0,
                        .root_member = owner && owner->root_member,
                };
                r = records_add(out, &t, owner ? owner->comm : NULL, owner ? owner->unit : NULL, "mount",
                                ns->mount_points[i]);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ns->n_processes; i++) {
                const Holder *h = &ns->processes[i];

                for (size_t j = 0; j < h->n_refs; j++) {
                        /* The thread whose own cwd or root it is, or
                         * the thread alone in this namespace. */
                        HolderRecord t = {
                                .pid = h->pid,
                                .tid = (uint64_t) (h->refs[j].tid ?: h->tid),
                                .mntns = ns->ino,
                                .root_member = h->root_member,
                        };

                        r = records_add(out, &t, h->comm, h->unit, holder_ref_kind_to_string(h->refs[j].kind),
                                        h->refs[j].path);
                        if (r < 0)
                                return r;
                }
        }

        /* Pins only matter for a namespace that holds the device. */
        if (!ns->mount_points || !*ns->mount_points)
                return 0;
        for (size_t i = 0; i < ns->n_pins; i++) {
                const HolderPin *p = &ns->pins[i];
                char fd_path[64];
                HolderRecord t = { .mntns = ns->ino };

                if (p->kind == HOLDER_PIN_MOUNT) {
                        /* Like a mount row: the process the mount is seen
                         * by, whose root leads to it. */
                        t.pid = p->root_pid;
                        r = records_add(out, &t, NULL, NULL, "pin-mount", p->path);
                } else {
                        t.pid = p->pid;
                        (void) snprintf(fd_path, sizeof(fd_path), "fd %d", p->fd);
                        r = records_add(out, &t, NULL, NULL, "pin-fd", fd_path);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int holder_records_from_scan(const HolderScan *s, uint64_t engine_mntns,
                             HolderRecords *ret_engine, HolderRecords *ret_others) {
        _cleanup_(holder_records_done) HolderRecords engine = {}, others = {};
        int r;

        for (size_t i = 0; i < s->n_namespaces; i++) {
                const HolderNamespace *ns = &s->namespaces[i];

                r = add_namespace(engine_mntns != 0 && ns->ino == engine_mntns ? &engine : &others, ns);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_stacked; i++) {
                HolderRecord t = {};

                r = records_add(&others, &t, NULL, NULL,
                                s->stacked[i].kind == STACKED_LOOP ? "loop" : "stacked", s->stacked[i].name);
                if (r < 0)
                        return r;
        }

        if (ret_engine)
                *ret_engine = TAKE_GENERIC(engine, (HolderRecords) {});
        *ret_others = TAKE_GENERIC(others, (HolderRecords) {});
        return 0;
}

static bool holder_record_equal(const HolderRecord *a, const HolderRecord *b) {
        return a->pid == b->pid && a->tid == b->tid && a->mntns == b->mntns && a->mount_id == b->mount_id &&
               a->root_member == b->root_member && streq(a->comm, b->comm) && streq(a->unit, b->unit) &&
               streq(a->kind, b->kind) && streq(a->path, b->path);
}

bool holder_records_equal(const HolderRecords *a, const HolderRecords *b) {
        if (a->n_rows != b->n_rows)
                return false;
        for (size_t i = 0; i < a->n_rows; i++)
                if (!holder_record_equal(&a->rows[i], &b->rows[i]))
                        return false;
        return true;
}

int holder_records_add_unexplained(HolderRecords *r, unsigned open_count, unsigned inaccessible) {
        char what[128];
        HolderRecord t = {};

        (void) snprintf(what, sizeof(what), "open count %u, %u processes could not be inspected", open_count,
                        inaccessible);
        return records_add(r, &t, NULL, NULL, "unexplained", what);
}
