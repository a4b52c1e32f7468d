/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols/libsmartcols.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/escape.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "dmwardenctl/ctl-table.h"
#include "dmwardenctl/ctl.h"

/* Room for every column of the widest table, each named twice. */
#define CTL_COLUMNS_MAX 64

struct CtlTable {
        const CtlTableType *type;
        CtlOutput output;
        size_t ids[CTL_COLUMNS_MAX];
        size_t n_ids;
        struct libscols_table *tb;
};

static bool is_number(CtlCellType t) {
        return IN_SET(t, CTL_CELL_U32, CTL_CELL_U32_ID, CTL_CELL_U32_COUNT, CTL_CELL_U64, CTL_CELL_U64_ID,
                      CTL_CELL_U64_COUNT,
                      CTL_CELL_TIMESPAN);
}

static int column_find(const CtlTableType *type, const char *name, size_t n) {
        for (size_t i = 0; i < type->n_columns; i++)
                if (strlen(type->columns[i].name) == n && strncasecmp(type->columns[i].name, name, n) == 0)
                        return (int) i;
        return -ENOENT;
}

static int log_unknown_column(const CtlTableType *type, const char *name, size_t n) {
        _cleanup_free_ char *known = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&known, &size);

        if (!f)
                return log_oom();
        for (size_t i = 0; i < type->n_columns; i++) {
                if (i > 0)
                        fputs(", ", f);
                for (const char *c = type->columns[i].name; *c; c++)
                        fputc(tolower((unsigned char) *c), f);
        }
        if (fclose(f) != 0)
                return log_oom();
        log_error("Unknown column \"%.*s\"; use one of %s.", (int) n, name, known);
        return -EINVAL;
}

/* The columns to print: -o's, or the default ones (every one for JSON, a
 * document whose shape does not depend on who reads it). */
static int columns_pick(const CtlTableType *type, const CtlOutput *o, size_t *ids, size_t *ret_n) {
        const char *p = o->columns;
        size_t n = 0;

        if (!p || *p == '+')
                for (size_t i = 0; i < type->n_columns && n < CTL_COLUMNS_MAX; i++)
                        if (type->columns[i].shown || (o->json && !p))
                                ids[n++] = i;
        if (p && *p == '+')
                p++;
        while (p && *p) {
                size_t len = strcspn(p, ",");
                int i = column_find(type, p, len);

                if (i < 0)
                        return log_unknown_column(type, p, len);
                if (n >= CTL_COLUMNS_MAX) {
                        log_error("Too many columns in \"%s\".", o->columns);
                        return -EINVAL;
                }
                ids[n++] = (size_t) i;
                p += len;
                if (*p == ',')
                        p++;
        }
        if (n == 0) {
                log_error("No columns in \"%s\".", o->columns);
                return -EINVAL;
        }
        *ret_n = n;
        return 0;
}

int ctl_output_check(const CtlTableType *type, const CtlOutput *o) {
        size_t ids[CTL_COLUMNS_MAX], n;

        return columns_pick(type, o, ids, &n);
}

bool ctl_output_summary(const CtlOutput *o) {
        return !o->noheadings;
}

static bool has_control_characters(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

const char *ctl_cell_text(const char *s, char **ret_free) {
        *ret_free = NULL;
        s = s ?: "";
        /* The daemon sends UTF-8 (bytes that are not come escaped); only
         * what could steer the terminal is escaped here. */
        if (!has_control_characters(s))
                return s;
        *ret_free = cescape(s);
        return *ret_free ?: "?";
}

CtlTable *ctl_table_free(CtlTable *t) {
        if (!t)
                return NULL;
        scols_unref_table(t->tb);
        free(t);
        return NULL;
}

void ctl_table_freep(CtlTable **t) {
        ctl_table_free(*t);
}

static int json_type(CtlCellType t) {
        if (t == CTL_CELL_BOOL)
                return SCOLS_JSON_BOOLEAN;
        if (is_number(t) || t == CTL_CELL_TIMESTAMP)
                return SCOLS_JSON_NUMBER;
        return SCOLS_JSON_STRING;
}

int ctl_table_new(const CtlTableType *type, const CtlOutput *o, CtlTable **ret) {
        _cleanup_(ctl_table_freep) CtlTable *t = calloc(1, sizeof(CtlTable));
        int r;

        if (!t)
                return -ENOMEM;
        t->type = type;
        t->output = *o;
        r = columns_pick(type, o, t->ids, &t->n_ids);
        if (r < 0)
                return r;
        t->tb = scols_new_table();
        if (!t->tb)
                return -ENOMEM;
        r = scols_table_set_name(t->tb, type->name);
        if (r >= 0)
                r = scols_table_enable_json(t->tb, o->json);
        if (r >= 0)
                r = scols_table_enable_raw(t->tb, o->raw);
        if (r >= 0)
                r = scols_table_enable_noheadings(t->tb, o->noheadings);
        /* Cells come escaped for a terminal (ctl_cell_text()); raw and JSON
         * output escape what they need themselves. */
        if (r >= 0 && !o->json && !o->raw)
                r = scols_table_enable_noencoding(t->tb, 1);
        for (size_t i = 0; r >= 0 && i < t->n_ids; i++) {
                const CtlColumn *c = &type->columns[t->ids[i]];
                struct libscols_column *cl;

                cl = scols_table_new_column(t->tb, c->name, 0, is_number(c->type) ? SCOLS_FL_RIGHT : 0);
                if (!cl)
                        return -ENOMEM;
                r = scols_column_set_json_type(cl, json_type(c->type));
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

/* The cell's text (malloc'd; "" for none, which JSON writes as null). */
static char *cell_text(const CtlColumn *c, const void *row, bool json) {
        const void *p = (const char *) row + c->offset;
        char buf[FORMAT_TIMESPAN_MAX + CTL_TIMESTAMP_MAX];
        uint32_t u32;
        uint64_t u64;
        char *text = NULL;

        switch (c->type) {
        case CTL_CELL_STRING:
                return strdup(*(const char *const *) p ?: "");
        case CTL_CELL_FUNC:
                return c->format(row);
        case CTL_CELL_BOOL:
                return strdup(*(const bool *) p ? "yes" : "no");
        case CTL_CELL_U32:
        case CTL_CELL_U32_ID:
        case CTL_CELL_U32_COUNT:
                u32 = *(const uint32_t *) p;
                if ((c->type == CTL_CELL_U32_ID && u32 == 0) || (c->type == CTL_CELL_U32_COUNT && u32 == UINT32_MAX))
                        return strdup("");
                return asprintf(&text, "%" PRIu32, u32) < 0 ? NULL : text;
        default:
                break;
        }

        u64 = *(const uint64_t *) p;
        if ((c->type == CTL_CELL_U64_ID || c->type == CTL_CELL_TIMESTAMP) && u64 == 0)
                return strdup("");
        if (c->type == CTL_CELL_U64_COUNT && u64 == UINT64_MAX)
                return strdup("");
        if (c->type == CTL_CELL_TIMESTAMP && !json)
                return strdup(ctl_format_timestamp(buf, sizeof(buf), u64));
        if (c->type == CTL_CELL_TIMESPAN && !json)
                return strdup(format_timespan(buf, sizeof(buf), u64));
        return asprintf(&text, "%" PRIu64, u64) < 0 ? NULL : text;
}

int ctl_table_add(CtlTable *t, const void *row) {
        struct libscols_line *line = scols_table_new_line(t->tb, NULL);
        bool terminal = !t->output.json && !t->output.raw;

        if (!line)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_ids; i++) {
                _cleanup_free_ char *text = cell_text(&t->type->columns[t->ids[i]], row, t->output.json);
                _cleanup_free_ char *escaped = NULL;
                int r;

                if (!text)
                        return -ENOMEM;
                r = scols_line_set_data(line, i, terminal ? ctl_cell_text(text, &escaped) : text);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The one row as lines of "COLUMN value" (or values alone with -n). */
static int print_vertical(CtlTable *t) {
        struct libscols_table *v = scols_new_table();
        struct libscols_line *row = scols_table_get_line(t->tb, 0);
        int r;

        if (!v)
                return -ENOMEM;
        r = scols_table_enable_noheadings(v, 1);
        if (r >= 0)
                r = scols_table_enable_noencoding(v, 1);
        if (r >= 0 && !t->output.noheadings && !scols_table_new_column(v, "COLUMN", 0, 0))
                r = -ENOMEM;
        if (r >= 0 && !scols_table_new_column(v, "VALUE", 0, 0))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && row && i < t->n_ids; i++) {
                struct libscols_line *line = scols_table_new_line(v, NULL);
                size_t k = 0;

                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                if (!t->output.noheadings)
                        r = scols_line_set_data(line, k++, t->type->columns[t->ids[i]].name);
                if (r >= 0)
                        r = scols_line_set_data(line, k, scols_cell_get_data(scols_line_get_cell(row, i)));
        }
        if (r >= 0)
                r = scols_print_table(v);
        scols_unref_table(v);
        return r;
}

int ctl_table_print(CtlTable *t) {
        int r;

        if (t->type->vertical && !t->output.json && !t->output.raw)
                r = print_vertical(t);
        else
                r = scols_print_table(t->tb);
        if (r < 0 || fflush(stdout) != 0 || ferror(stdout))
                return -EIO;
        return 0;
}
