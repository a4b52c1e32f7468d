/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwardenctl's tables: each command describes its columns once (a name, a
 * field of its row struct, a type), and this prints rows of them through
 * libsmartcols as a table sized to its content, raw, or one JSON document,
 * with the columns -o picked. Adding a column is one line of a CtlColumn
 * array. */

#include <stdbool.h>
#include <stddef.h>

typedef enum CtlCellType {
        CTL_CELL_STRING,     /* const char *, as on the bus; "" is none */
        CTL_CELL_U32,        /* uint32_t */
        CTL_CELL_U32_ID,     /* uint32_t; 0 is none (a PID) */
        CTL_CELL_U32_COUNT,  /* uint32_t; UINT32_MAX is unknown */
        CTL_CELL_U64,        /* uint64_t */
        CTL_CELL_U64_ID,     /* uint64_t; 0 is none (an inode, an id) */
        CTL_CELL_U64_COUNT,  /* uint64_t; UINT64_MAX is unknown (bytes) */
        CTL_CELL_BOOL,       /* bool */
        CTL_CELL_TIMESTAMP,  /* usec_t since the epoch, 0 none: local time
                              * in tables, microseconds in JSON */
        CTL_CELL_TIMESPAN,   /* usec_t: "1.5ms" in tables, microseconds in JSON */
        CTL_CELL_FUNC,       /* format(row) makes the text (a string in JSON) */
} CtlCellType;

typedef struct CtlColumn {
        const char *name;    /* the header; lower case, the -o name and JSON key */
        CtlCellType type;
        size_t offset;       /* of the field in the row */
        bool shown;          /* among the default columns */
        char *(*format)(const void *row); /* CTL_CELL_FUNC: malloc'd text */
} CtlColumn;

#define CTL_COLUMN(header, cell, row_type, field, in_default) \
        { .name = (header), .type = (cell), .offset = offsetof(row_type, field), .shown = (in_default) }

/* A command's table: the name of the JSON array (lsblk's "blockdevices"),
 * its columns, and whether a person reads its one row as "COLUMN value"
 * lines rather than a header over a row (status). */
typedef struct CtlTableType {
        const char *name;
        const CtlColumn *columns;
        size_t n_columns;
        bool vertical;
} CtlTableType;

/* -J, -r, -n and -o as given. */
typedef struct CtlOutput {
        bool json;
        bool raw;
        bool noheadings;
        const char *columns;  /* "a,b", "+a" (added to the default), NULL */
} CtlOutput;

/* Whether -o names only columns of type. Logs the first one it does not
 * and returns -EINVAL; 0 if all are known. */
int ctl_output_check(const CtlTableType *type, const CtlOutput *o);

typedef struct CtlTable CtlTable;

int ctl_table_new(const CtlTableType *type, const CtlOutput *o, CtlTable **ret);
CtlTable *ctl_table_free(CtlTable *t);
void ctl_table_freep(CtlTable **t);
/* A row: a struct whose fields the columns' offsets point at. */
int ctl_table_add(CtlTable *t, const void *row);
/* To stdout. Returns 0, or -EIO if writing failed. */
int ctl_table_print(CtlTable *t);

/* Summary lines (counts, what a scan skipped) go to stderr, where they do
 * not get in the way of a program reading the table, and not at all with
 * -n. */
bool ctl_output_summary(const CtlOutput *o);

/* s for a terminal: control characters escaped, else s itself. Returns a
 * string to free in *ret_free if it made one. */
const char *ctl_cell_text(const char *s, char **ret_free);
