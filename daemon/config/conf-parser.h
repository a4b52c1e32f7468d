/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Table-driven INI parsing on top of libinih: one table of (section, key,
 * type, field) drives both parsing and printing, and every rejected line is
 * reported as "FILE:LINE: [Section] Key=: why". Like a library, it logs
 * nothing; callers decide what the operator sees. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct ConfigItem ConfigItem;

/* Parses value into the field at data. On -EINVAL writes why into reason. */
typedef int (*ConfigParseFn)(const ConfigItem *item, const char *value, void *data,
                             char *reason, size_t reason_size);
/* Prints the field at data in the file's own syntax (no key, no newline). */
typedef int (*ConfigFormatFn)(const ConfigItem *item, const void *data, FILE *out);

typedef struct ConfigType {
        ConfigParseFn parse;
        ConfigFormatFn format;
        /* A char ** list: its first assignment in a load replaces the
         * compiled-in default, later ones append, an empty one empties it. */
        bool list;
} ConfigType;

struct ConfigItem {
        const char *section;
        const char *key;
        const ConfigType *type;
        size_t offset;       /* of the field in the target struct */
        const void *arg;     /* type-specific: the names of an enum */
};

/* Values: ExecStart-style command line, parsed into a NULL-terminated argv
 * whose first word is an absolute path (char ** field; empty: NULL). */
extern const ConfigType config_type_command;
/* An absolute, normalized-looking path (char * field; empty: NULL). */
extern const ConfigType config_type_path;
/* One of the NULL-terminated names in arg (int field, index into arg). */
extern const ConfigType config_type_enum;
/* A duration such as "90s" or "5min" (usec_t field). */
extern const ConfigType config_type_sec;
/* A decimal unsigned int (unsigned field). */
extern const ConfigType config_type_unsigned;
/* 0 to 100, with or without "%" (unsigned field). */
extern const ConfigType config_type_percent;
/* Bytes with an optional K, M or G suffix (size_t field); arg: the least
 * and the most accepted, a const size_t[2]. */
extern const ConfigType config_type_size;
/* A list of words (char ** field). */
extern const ConfigType config_type_strv;
/* Like strv, but each word is a process name of at most 15 bytes. */
extern const ConfigType config_type_comm_list;

/* Parses one file into target. assigned[] has one flag per item, shared by
 * all files of one load, recording which keys were set so far. Returns 0 on success, -ENOENT if the file
 * does not exist, -EINVAL if any line was rejected (each reason appended to
 * *errors), other negative errno if the file cannot be read (reason appended
 * too). */
int config_parse_file(const char *path, const ConfigItem *items, size_t n_items, void *target,
                      bool *assigned, char ***errors);

/* The same for the text of a file already in memory (size bytes, NUL bytes
 * included); path only names it in the errors. */
int config_parse_buffer(const char *path, const char *data, size_t size, const ConfigItem *items,
                        size_t n_items, void *target, bool *assigned, char ***errors);

/* Prints every item, grouped under its section header. */
int config_dump(const ConfigItem *items, size_t n_items, const void *target, FILE *out);

/* Largest file accepted; configuration is small, anything bigger is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)
