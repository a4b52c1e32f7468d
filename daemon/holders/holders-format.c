/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/escape.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "holders/holders-format.h"

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
        if (r->tid > 0)
                fprintf(f, " of thread %d", (int) r->tid);
        fputc(' ', f);
        print_escaped(f, r->path ?: "?", 0);
}

/* The next item of a comma-separated list. */
static void print_separator(FILE *f, bool *first) {
        if (!*first)
                fputs(", ", f);
        *first = false;
}

static void print_process(FILE *f, const Holder *h) {
        bool first = true;

        fprintf(f, "    %-8d %-8d ", (int) h->pid, (int) h->ppid);
        print_escaped(f, h->comm ?: "?", 16);
        fputc(' ', f);
        print_escaped(f, h->unit ?: "-", 28);
        fputc(' ', f);
        if (h->tid > 0) {
                print_separator(f, &first);
                fprintf(f, "thread %d", (int) h->tid);
        }
        if (h->root_member) {
                print_separator(f, &first);
                fputs("root member", f);
        }
        for (size_t i = 0; i < h->n_refs; i++) {
                print_separator(f, &first);
                print_ref(f, &h->refs[i]);
        }
        fputc('\n', f);
}

static void print_pids(FILE *f, const char *label, const pid_t *pids, size_t n) {
        if (n == 0)
                return;
        fprintf(f, "    %s:", label);
        for (size_t i = 0; i < n; i++)
                fprintf(f, " %d", (int) pids[i]);
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
        if (ns->n_threads > 0)
                fprintf(f, ", %zu %s elsewhere", ns->n_threads,
                        ns->n_threads == 1 ? "thread of a process" : "threads of processes");
        fputc('\n', f);

        for (char **m = ns->mount_points; m && *m; m++) {
                fputs("    mounted at ", f);
                print_escaped(f, *m, 0);
                fputc('\n', f);
        }
        for (size_t i = 0; i < ns->n_pins; i++)
                print_pin(f, s, &ns->pins[i]);
        if (full) {
                print_pids(f, "members", ns->members, ns->n_members);
                print_pids(f, "threads", ns->threads, ns->n_threads);
        }
        if (ns->n_processes > 0) {
                fprintf(f, "    %-8s %-8s %-16s %-28s %s\n", "PID", "PPID", "COMM", "UNIT", "HOLDS");
                for (size_t i = 0; i < ns->n_processes; i++)
                        print_process(f, &ns->processes[i]);
        }
}

void holders_print_summary(FILE *f, const HolderScan *s) {
        fprintf(f, "Scanned %u processes (%s) and %u mount namespaces (%s", s->n_processes,
                holder_walk_to_string(s->walk), s->n_namespaces_scanned, mount_source_to_string(s->source));
        if (s->n_namespaces_cleared > 0)
                fprintf(f, ", %u cleared by the BPF mount walk", s->n_namespaces_cleared);
        fprintf(f, "%s) in %.1f ms",
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
        holders_print_summary(f, s);
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

static void json_int(FILE *f, bool *first, const char *key, long long v) {
        json_key(f, first, key);
        fprintf(f, "%lld", v);
}

static void json_u64(FILE *f, bool *first, const char *key, uint64_t v) {
        json_key(f, first, key);
        fprintf(f, "%" PRIu64, v);
}

static void json_str(FILE *f, bool *first, const char *key, const char *v) {
        json_key(f, first, key);
        json_write_string(f, v);
}

static void json_bool(FILE *f, bool *first, const char *key, bool v) {
        json_key(f, first, key);
        fputs(v ? "true" : "false", f);
}

typedef void (*json_item_func_t)(FILE *f, const HolderScan *s, const void *item);

/* Every array in the output: items of the given size, each written by fn. */
static void json_array(FILE *f, bool *first, const char *key, const HolderScan *s, const void *items, size_t n,
                       size_t size, json_item_func_t fn) {
        json_key(f, first, key);
        fputc('[', f);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputc(',', f);
                fn(f, s, (const char *) items + i * size);
        }
        fputc(']', f);
}

static void json_pid(FILE *f, const HolderScan *s, const void *item) {
        fprintf(f, "%d", (int) *(const pid_t *) item);
}

static void json_string(FILE *f, const HolderScan *s, const void *item) {
        json_write_string(f, *(char *const *) item);
}

static void json_ref(FILE *f, const HolderScan *s, const void *item) {
        const HolderRef *r = item;
        bool first = true;

        fputc('{', f);
        json_str(f, &first, "kind", holder_ref_kind_to_string(r->kind));
        if (r->fd >= 0)
                json_int(f, &first, "fd", r->fd);
        if (r->tid > 0)
                json_int(f, &first, "tid", r->tid);
        json_str(f, &first, "path", r->path);
        fputc('}', f);
}

static void json_process(FILE *f, const HolderScan *s, const void *item) {
        const Holder *h = item;
        bool first = true;

        fputc('{', f);
        json_int(f, &first, "pid", h->pid);
        if (h->tid > 0)
                json_int(f, &first, "tid", h->tid);
        json_int(f, &first, "ppid", h->ppid);
        json_str(f, &first, "comm", h->comm);
        json_str(f, &first, "unit", h->unit);
        json_bool(f, &first, "root_member", h->root_member);
        json_array(f, &first, "references", s, h->refs, h->n_refs, sizeof(HolderRef), json_ref);
        fputc('}', f);
}

static void json_pin(FILE *f, const HolderScan *s, const void *item) {
        const HolderPin *p = item;
        bool first = true;

        fputc('{', f);
        json_str(f, &first, "kind", holder_pin_kind_to_string(p->kind));
        if (p->kind == HOLDER_PIN_MOUNT) {
                json_u64(f, &first, "mntns", p->mntns);
                json_str(f, &first, "path", p->path);
        } else {
                json_int(f, &first, "pid", p->pid);
                json_int(f, &first, "fd", p->fd);
        }
        fputc('}', f);
}

static void json_namespace(FILE *f, const HolderScan *s, const void *item) {
        const HolderNamespace *ns = item;
        bool first = true;

        fputc('{', f);
        json_u64(f, &first, "mntns", ns->ino);
        json_key(f, &first, "mntns_id");
        if (ns->id != 0)
                fprintf(f, "%" PRIu64, ns->id);
        else
                fputs("null", f);
        json_bool(f, &first, "ours", ns->ino == s->self_mntns);
        json_array(f, &first, "mount_points", s, ns->mount_points, strv_length(ns->mount_points), sizeof(char *),
                   json_string);
        json_array(f, &first, "members", s, ns->members, ns->n_members, sizeof(pid_t), json_pid);
        json_array(f, &first, "threads", s, ns->threads, ns->n_threads, sizeof(pid_t), json_pid);
        json_array(f, &first, "pinned_by", s, ns->pins, ns->n_pins, sizeof(HolderPin), json_pin);
        json_array(f, &first, "processes", s, ns->processes, ns->n_processes, sizeof(Holder), json_process);
        fputc('}', f);
}

static void json_stacked(FILE *f, const HolderScan *s, const void *item) {
        const StackedHolder *h = item;
        bool first = true;

        fputc('{', f);
        json_str(f, &first, "kind", stacked_kind_to_string(h->kind));
        json_str(f, &first, "name", h->name);
        json_int(f, &first, "major", major(h->dev));
        json_int(f, &first, "minor", minor(h->dev));
        fputc('}', f);
}

static void json_stats(FILE *f, const HolderScan *s) {
        bool first = true;

        fputc('{', f);
        json_int(f, &first, "processes", s->n_processes);
        json_int(f, &first, "processes_inaccessible", s->n_processes_inaccessible);
        json_int(f, &first, "processes_vanished", s->n_processes_vanished);
        json_int(f, &first, "namespaces", s->n_namespaces_scanned);
        json_int(f, &first, "namespaces_inaccessible", s->n_namespaces_inaccessible);
        json_int(f, &first, "namespaces_cleared", s->n_namespaces_cleared);
        json_u64(f, &first, "duration_usec", s->duration_usec);
        fputc('}', f);
}

int holders_print_json(FILE *f, const HolderScan *s, const char *device) {
        bool first = true;

        fputc('{', f);
        json_str(f, &first, "device", device);
        json_int(f, &first, "major", major(s->dev));
        json_int(f, &first, "minor", minor(s->dev));
        json_str(f, &first, "source", mount_source_to_string(s->source));
        json_str(f, &first, "walk", holder_walk_to_string(s->walk));
        json_bool(f, &first, "files_scanned", s->files_scanned);
        json_u64(f, &first, "mntns", s->self_mntns);
        json_array(f, &first, "namespaces", s, s->namespaces, s->n_namespaces, sizeof(HolderNamespace), json_namespace);
        json_array(f, &first, "stacked", s, s->stacked, s->n_stacked, sizeof(StackedHolder), json_stacked);
        json_key(f, &first, "stats");
        json_stats(f, s);
        fputs("}\n", f);
        return finish(f);
}
