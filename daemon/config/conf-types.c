/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Value types for the configuration table: how each kind of value is parsed
 * from and printed back to the file's syntax. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/quote.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "config/conf-parser.h"

_printf_(3, 4) static int reject(char *reason, size_t size, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(reason, size, format, ap);
        va_end(ap);
        return -EINVAL;
}

/* Commands and lists print alike: words, quoted where needed. */
static int format_words(const ConfigItem *item _unused_, const void *data, FILE *out) {
        _cleanup_free_ char *joined = join_quoted(*(char **const *) data);

        if (!joined)
                return -ENOMEM;
        fputs(joined, out);
        return 0;
}

/* The words of value, quoted as systemd quotes them; a rejection names
 * what is wrong with the quoting. */
static int split_value(const char *value, char ***ret, char *reason, size_t size) {
        int r;

        r = split_words(value, ret);
        if (r == -EINVAL)
                return reject(reason, size, "unbalanced quotes or trailing backslash");
        return r;
}

static int parse_command(const ConfigItem *item _unused_, const char *value, void *data,
                         char *reason, size_t size) {
        char ***field = data;
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = split_value(value, &argv, reason, size);
        if (r < 0)
                return r;
        if (strv_length(argv) > 0 && argv[0][0] != '/')
                return reject(reason, size, "the command must start with an absolute path, not \"%s\"",
                              argv[0]);

        strv_free(*field);
        *field = strv_length(argv) > 0 ? TAKE_PTR(argv) : NULL;
        return 0;
}

const ConfigType config_type_command = { .parse = parse_command, .format = format_words };

static int parse_path(const ConfigItem *item _unused_, const char *value, void *data, char *reason,
                      size_t size) {
        char **field = data;
        char *copy = NULL;

        if (!isempty(value)) {
                if (value[0] != '/')
                        return reject(reason, size, "not an absolute path");
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*field);
        *field = copy;
        return 0;
}

static int format_path(const ConfigItem *item _unused_, const void *data, FILE *out) {
        fputs(strempty(*(char *const *) data), out);
        return 0;
}

const ConfigType config_type_path = { .parse = parse_path, .format = format_path };

static int parse_enum(const ConfigItem *item, const char *value, void *data, char *reason,
                      size_t size) {
        const char *const *names = item->arg;
        char expected[256] = "";
        size_t used = 0;

        for (size_t i = 0; names[i]; i++)
                if (streq(names[i], value)) {
                        *(int *) data = (int) i;
                        return 0;
                }

        for (size_t i = 0; names[i] && used < sizeof(expected); i++) {
                int k = snprintf(expected + used, sizeof(expected) - used, "%s%s", i > 0 ? ", " : "",
                                 names[i]);
                if (k < 0)
                        break;
                used += (size_t) k;
        }
        return reject(reason, size, "unknown value, expected one of: %s", expected);
}

static int format_enum(const ConfigItem *item, const void *data, FILE *out) {
        const char *const *names = item->arg;

        fputs(names[*(const int *) data], out);
        return 0;
}

const ConfigType config_type_enum = { .parse = parse_enum, .format = format_enum };

static int parse_duration(const ConfigItem *item _unused_, const char *value, void *data,
                          char *reason, size_t size) {
        usec_t t;
        int r;

        r = parse_sec(value, &t);
        if (r == -ERANGE)
                return reject(reason, size, "duration out of range");
        if (r < 0)
                return reject(reason, size,
                              "not a duration (examples: 30s, 500ms, 5min, 1h 30min, infinity)");
        *(usec_t *) data = t;
        return 0;
}

static int format_duration(const ConfigItem *item _unused_, const void *data, FILE *out) {
        char buf[FORMAT_TIMESPAN_MAX];

        fputs(format_timespan(buf, sizeof(buf), *(const usec_t *) data), out);
        return 0;
}

const ConfigType config_type_sec = { .parse = parse_duration, .format = format_duration };

static int parse_unsigned_value(const ConfigItem *item _unused_, const char *value, void *data,
                                char *reason, size_t size) {
        unsigned long long v;
        char *end;

        if (value[0] < '0' || value[0] > '9')
                return reject(reason, size, "not a number");
        errno = 0;
        v = strtoull(value, &end, 10);
        if (*end != '\0')
                return reject(reason, size, "not a number");
        if (errno == ERANGE || v > UINT_MAX)
                return reject(reason, size, "number too large (at most %u)", UINT_MAX);
        *(unsigned *) data = (unsigned) v;
        return 0;
}

static int format_unsigned_value(const ConfigItem *item _unused_, const void *data, FILE *out) {
        fprintf(out, "%u", *(const unsigned *) data);
        return 0;
}

const ConfigType config_type_unsigned = { .parse = parse_unsigned_value, .format = format_unsigned_value };

static int parse_percent(const ConfigItem *item, const char *value, void *data, char *reason, size_t size) {
        unsigned v;
        int r;

        /* "90" and "90%" alike. */
        if (*value && value[strlen(value) - 1] == '%') {
                _cleanup_free_ char *bare = strndup(value, strlen(value) - 1);

                if (!bare)
                        return -ENOMEM;
                return parse_percent(item, bare, data, reason, size);
        }
        r = parse_unsigned_value(item, value, &v, reason, size);
        if (r != 0)
                return r;
        if (v > 100)
                return reject(reason, size, "more than 100%%");
        *(unsigned *) data = v;
        return 0;
}

const ConfigType config_type_percent = { .parse = parse_percent, .format = format_unsigned_value };

/* Bytes, with an optional K, M or G suffix (1024-based, as in systemd's
 * ReceiveBuffer=); arg is a two-element size_t array: the least and the
 * most accepted. */
static int parse_size_value(const ConfigItem *item, const char *value, void *data, char *reason,
                            size_t size) {
        const size_t *range = item->arg;
        unsigned long long v, factor = 1;
        char *end;

        if (value[0] < '0' || value[0] > '9')
                return reject(reason, size, "not a size (examples: 8M, 512K, 65536)");
        errno = 0;
        v = strtoull(value, &end, 10);
        if (streq(end, "K"))
                factor = 1024;
        else if (streq(end, "M"))
                factor = 1024 * 1024;
        else if (streq(end, "G"))
                factor = 1024 * 1024 * 1024;
        else if (*end != '\0')
                return reject(reason, size, "not a size (examples: 8M, 512K, 65536)");
        if (errno == ERANGE || v > range[1] / factor || v * factor < range[0])
                return reject(reason, size, "size out of range (%zu to %zu bytes)", range[0], range[1]);
        *(size_t *) data = (size_t) (v * factor);
        return 0;
}

static int format_size_value(const ConfigItem *item _unused_, const void *data, FILE *out) {
        static const char suffixes[] = { 'G', 'M', 'K' };
        size_t v = *(const size_t *) data;

        for (size_t i = 0; i < sizeof(suffixes); i++) {
                size_t unit = (size_t) 1 << (10 * (3 - i));

                if (v >= unit && v % unit == 0) {
                        fprintf(out, "%zu%c", v / unit, suffixes[i]);
                        return 0;
                }
        }
        fprintf(out, "%zu", v);
        return 0;
}

const ConfigType config_type_size = { .parse = parse_size_value, .format = format_size_value };

/* Appends the words of value to the list; an empty assignment clears it, as
 * in systemd, so a drop-in can replace a list instead of extending it. */
static int parse_word_list(const char *value, char ***field, size_t max_word, char *reason,
                           size_t size) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        r = split_value(value, &words, reason, size);
        if (r < 0)
                return r;

        if (strv_length(words) == 0) {
                *field = strv_free(*field);
                return 0;
        }
        for (char **w = words; *w; w++)
                if (max_word > 0 && strlen(*w) > max_word)
                        return reject(reason, size,
                                      "\"%s\" is longer than %zu bytes, so no process name can match it",
                                      *w, max_word);
        for (char **w = words; *w; w++) {
                r = strv_extend(field, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_strv(const ConfigItem *item _unused_, const char *value, void *data, char *reason,
                      size_t size) {
        return parse_word_list(value, data, 0, reason, size);
}

/* The kernel keeps 15 bytes of a process name (TASK_COMM_LEN - 1). */
#define COMM_MAX 15

static int parse_comm_list(const ConfigItem *item _unused_, const char *value, void *data,
                           char *reason, size_t size) {
        return parse_word_list(value, data, COMM_MAX, reason, size);
}

const ConfigType config_type_strv = { .parse = parse_strv, .format = format_words, .list = true };
const ConfigType config_type_comm_list = { .parse = parse_comm_list, .format = format_words, .list = true };
