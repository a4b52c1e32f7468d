/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "escape.h"
#include "holders-format.h"
#include "macro.h"

static int finish(FILE *f) {
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

/* ---- table ---- */

static void print_escaped(FILE *f, const char *s, int width) {
        _cleanup_free_ char *e = cescape(strempty(s));

        fprintf(f, "%-*s", width, e ?: "?");
}

static void print_ref(FILE *f, const HolderRef *r) {
        fputs(holder_ref_kind_to_string(r->kind), f);
        if (r->fd >= 0)
                fprintf(f, " %d", r->fd);
        fputc(' ', f);
        print_escaped(f, r->path ?: "?", 0);
}

static void print_process(FILE *f, const Holder *h) {
        bool first = true;

        fprintf(f, "    %-8d %-8d ", (int) h->pid, (int) h->ppid);
        print_escaped(f, h->comm ?: "?", 16);
        fputc(' ', f);
        print_escaped(f, h->unit ?: "-", 28);
        fputc(' ', f);
        if (h->root_member) {
                fputs("root member", f);
                first = false;
        }
        for (size_t i = 0; i < h->n_refs; i++) {
                if (!first)
                        fputs(", ", f);
                print_ref(f, &h->refs[i]);
                first = false;
        }
        fputc('\n', f);
}

static void print_pin(FILE *f, const HolderScan *s, const HolderPin *p) {
        if (p->kind == HOLDER_PIN_MOUNT) {
                fputs("    pinned by the bind mount ", f);
                print_escaped(f, p->path, 0);
                fprintf(f, " in mount namespace %" PRIu64 "%s\n", p->mntns,
                        p->mntns == s->self_mntns ? " (ours)" : "");
        } else
                fprintf(f, "    pinned by fd %d of PID %d\n", p->fd, (int) p->pid);
}

static void print_namespace(FILE *f, const HolderScan *s, const HolderNamespace *ns, bool full) {
        fprintf(f, "Mount namespace %" PRIu64 "%s: ", ns->ino, ns->ino == s->self_mntns ? " (ours)" : "");
        if (ns->n_members == 0)
                fputs("no processes", f);
        else
                fprintf(f, "%zu process%s", ns->n_members, ns->n_members == 1 ? "" : "es");
        fputc('\n', f);

        for (char **m = ns->mount_points; m && *m; m++) {
                fputs("    mounted at ", f);
                print_escaped(f, *m, 0);
                fputc('\n', f);
        }
        for (size_t i = 0; i < ns->n_pins; i++)
                print_pin(f, s, &ns->pins[i]);
        if (full && ns->n_members > 0) {
                fputs("    members:", f);
                for (size_t i = 0; i < ns->n_members; i++)
                        fprintf(f, " %d", (int) ns->members[i]);
                fputc('\n', f);
        }
        if (ns->n_processes > 0) {
                fprintf(f, "    %-8s %-8s %-16s %-28s %s\n", "PID", "PPID", "COMM", "UNIT", "HOLDS");
                for (size_t i = 0; i < ns->n_processes; i++)
                        print_process(f, &ns->processes[i]);
        }
}

static void print_summary(FILE *f, const HolderScan *s) {
        fprintf(f, "Scanned %u processes and %u mount namespaces (%s%s) in %.1f ms",
                s->n_processes, s->n_namespaces_scanned, mount_source_to_string(s->source),
                s->files_scanned ? ", open files too" : "; open files not scanned, --full scans them",
                (double) s->duration_usec / 1000.0);
        /* Skips are part of the answer: an operator must know what we could not see. */
        if (s->n_processes_inaccessible > 0 || s->n_processes_vanished > 0 || s->n_namespaces_inaccessible > 0)
                fprintf(f, ";\nskipped: %u inaccessible process%s, %u exited meanwhile, %u unreachable namespace%s",
                        s->n_processes_inaccessible, s->n_processes_inaccessible == 1 ? "" : "es",
                        s->n_processes_vanished, s->n_namespaces_inaccessible,
                        s->n_namespaces_inaccessible == 1 ? "" : "s");
        fputs(".\n", f);
}

int holders_print_table(FILE *f, const HolderScan *s, const char *device, bool full) {
        if (holder_scan_is_empty(s)) {
                fputs("Nothing holds ", f);
                print_escaped(f, device, 0);
                fprintf(f, " (%u:%u).\n", major(s->dev), minor(s->dev));
        } else {
                fputs("Holders of ", f);
                print_escaped(f, device, 0);
                fprintf(f, " (%u:%u):\n\n", major(s->dev), minor(s->dev));
        }

        for (size_t i = 0; i < s->n_namespaces; i++)
                print_namespace(f, s, &s->namespaces[i], full);
        if (s->n_stacked > 0) {
                fputs("Stacked on it:\n", f);
                for (size_t i = 0; i < s->n_stacked; i++) {
                        fputs("    ", f);
                        print_escaped(f, s->stacked[i].name, 0);
                        if (s->stacked[i].dev != 0)
                                fprintf(f, " (%u:%u)", major(s->stacked[i].dev), minor(s->stacked[i].dev));
                        fputs(s->stacked[i].kind == STACKED_LOOP ? ": loop device backed by a file on it\n"
                                                                 : ": block device built on it\n", f);
                }
        }
        if (!holder_scan_is_empty(s))
                fputc('\n', f);
        print_summary(f, s);
        return finish(f);
}

/* ---- JSON ---- */

static void json_key(FILE *f, bool *first, const char *key) {
        if (!*first)
                fputc(',', f);
        *first = false;
        json_write_string(f, key);
        fputc(':', f);
}

static void json_ref(FILE *f, const HolderRef *r) {
        bool first = true;

        fputc('{', f);
        json_key(f, &first, "kind");
        json_write_string(f, holder_ref_kind_to_string(r->kind));
        if (r->fd >= 0) {
                json_key(f, &first, "fd");
                fprintf(f, "%d", r->fd);
        }
        json_key(f, &first, "path");
        json_write_string(f, r->path);
        fputc('}', f);
}

static void json_process(FILE *f, const Holder *h) {
        bool first = true;

        fputc('{', f);
        json_key(f, &first, "pid");
        fprintf(f, "%d", (int) h->pid);
        json_key(f, &first, "ppid");
        fprintf(f, "%d", (int) h->ppid);
        json_key(f, &first, "comm");
        json_write_string(f, h->comm);
        json_key(f, &first, "unit");
        json_write_string(f, h->unit);
        json_key(f, &first, "root_member");
        fputs(h->root_member ? "true" : "false", f);
        json_key(f, &first, "references");
        fputc('[', f);
        for (size_t i = 0; i < h->n_refs; i++) {
                if (i > 0)
                        fputc(',', f);
                json_ref(f, &h->refs[i]);
        }
        fputs("]}", f);
}

static void json_pin(FILE *f, const HolderPin *p) {
        bool first = true;

        fputc('{', f);
        json_key(f, &first, "kind");
        json_write_string(f, holder_pin_kind_to_string(p->kind));
        if (p->kind == HOLDER_PIN_MOUNT) {
                json_key(f, &first, "mntns");
                fprintf(f, "%" PRIu64, p->mntns);
                json_key(f, &first, "path");
                json_write_string(f, p->path);
        } else {
                json_key(f, &first, "pid");
                fprintf(f, "%d", (int) p->pid);
                json_key(f, &first, "fd");
                fprintf(f, "%d", p->fd);
        }
        fputc('}', f);
}

static void json_namespace(FILE *f, const HolderScan *s, const HolderNamespace *ns) {
        bool first = true;

        fputc('{', f);
        json_key(f, &first, "mntns");
        fprintf(f, "%" PRIu64, ns->ino);
        json_key(f, &first, "mntns_id");
        if (ns->id != 0)
                fprintf(f, "%" PRIu64, ns->id);
        else
                fputs("null", f);
        json_key(f, &first, "ours");
        fputs(ns->ino == s->self_mntns ? "true" : "false", f);
        json_key(f, &first, "mount_points");
        fputc('[', f);
        for (char **m = ns->mount_points; m && *m; m++) {
                if (m != ns->mount_points)
                        fputc(',', f);
                json_write_string(f, *m);
        }
        fputc(']', f);
        json_key(f, &first, "members");
        fputc('[', f);
        for (size_t i = 0; i < ns->n_members; i++)
                fprintf(f, "%s%d", i > 0 ? "," : "", (int) ns->members[i]);
        fputc(']', f);
        json_key(f, &first, "pinned_by");
        fputc('[', f);
        for (size_t i = 0; i < ns->n_pins; i++) {
                if (i > 0)
                        fputc(',', f);
                json_pin(f, &ns->pins[i]);
        }
        fputc(']', f);
        json_key(f, &first, "processes");
        fputc('[', f);
        for (size_t i = 0; i < ns->n_processes; i++) {
                if (i > 0)
                        fputc(',', f);
                json_process(f, &ns->processes[i]);
        }
        fputs("]}", f);
}

static void json_stats(FILE *f, const HolderScan *s) {
        bool first = true;

        fputc('{', f);
        json_key(f, &first, "processes");
        fprintf(f, "%u", s->n_processes);
        json_key(f, &first, "processes_inaccessible");
        fprintf(f, "%u", s->n_processes_inaccessible);
        json_key(f, &first, "processes_vanished");
        fprintf(f, "%u", s->n_processes_vanished);
        json_key(f, &first, "namespaces");
        fprintf(f, "%u", s->n_namespaces_scanned);
        json_key(f, &first, "namespaces_inaccessible");
        fprintf(f, "%u", s->n_namespaces_inaccessible);
        json_key(f, &first, "duration_usec");
        fprintf(f, "%" PRIu64, s->duration_usec);
        fputc('}', f);
}

int holders_print_json(FILE *f, const HolderScan *s, const char *device) {
        bool first = true;

        fputc('{', f);
        json_key(f, &first, "device");
        json_write_string(f, device);
        json_key(f, &first, "major");
        fprintf(f, "%u", major(s->dev));
        json_key(f, &first, "minor");
        fprintf(f, "%u", minor(s->dev));
        json_key(f, &first, "source");
        json_write_string(f, mount_source_to_string(s->source));
        json_key(f, &first, "files_scanned");
        fputs(s->files_scanned ? "true" : "false", f);
        json_key(f, &first, "mntns");
        fprintf(f, "%" PRIu64, s->self_mntns);

        json_key(f, &first, "namespaces");
        fputc('[', f);
        for (size_t i = 0; i < s->n_namespaces; i++) {
                if (i > 0)
                        fputc(',', f);
                json_namespace(f, s, &s->namespaces[i]);
        }
        fputc(']', f);

        json_key(f, &first, "stacked");
        fputc('[', f);
        for (size_t i = 0; i < s->n_stacked; i++) {
                bool f2 = true;

                if (i > 0)
                        fputc(',', f);
                fputc('{', f);
                json_key(f, &f2, "kind");
                json_write_string(f, stacked_kind_to_string(s->stacked[i].kind));
                json_key(f, &f2, "name");
                json_write_string(f, s->stacked[i].name);
                json_key(f, &f2, "major");
                fprintf(f, "%u", major(s->stacked[i].dev));
                json_key(f, &f2, "minor");
                fprintf(f, "%u", minor(s->stacked[i].dev));
                fputc('}', f);
        }
        fputc(']', f);

        json_key(f, &first, "stats");
        json_stats(f, s);
        fputs("}\n", f);
        return finish(f);
}
