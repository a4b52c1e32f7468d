/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/quote.h"
#include "basic/strv.h"
#include "basic/utf8.h"
#include "config/conf-parser.h"

typedef struct ParseState {
        const char *path;
        const char *data;
        size_t size, pos;
        unsigned line;

        const ConfigItem *items;
        size_t n_items;
        void *target;
        bool *assigned;

        char ***errors;
        bool failed, oom;
} ParseState;

_printf_(2, 3) static void add_error(ParseState *s, const char *format, ...) {
        char *message = NULL, *line = NULL;
        va_list ap;

        s->failed = true;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (!message || asprintf(&line, "%s:%u: %s", s->path, s->line, message) < 0)
                line = NULL;
        free(message);
        if (!line || strv_consume(s->errors, line) < 0)
                s->oom = true;
}

static bool section_known(const ParseState *s, const char *section, size_t len) {
        for (size_t i = 0; i < s->n_items; i++)
                if (strlen(s->items[i].section) == len && strncmp(s->items[i].section, section, len) == 0)
                        return true;
        return false;
}

static const ConfigItem *find_item(const ParseState *s, const char *section, const char *key) {
        for (size_t i = 0; i < s->n_items; i++)
                if (streq(s->items[i].section, section) && streq(s->items[i].key, key))
                        return &s->items[i];
        return NULL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* A section name no table has: keys after a broken header land in it and are
 * skipped, instead of silently joining the section before. */
#define BROKEN_SECTION_LINE "[\x01broken]"

/* Checks a "[Section]" line. An unknown but well-formed section is reported
 * and still passed on, so that its keys are skipped too. */
static bool check_section_line(ParseState *s, const char *line, size_t len) {
        const char *close = memchr(line, ']', len);
        const char *rest;

        if (!close) {
                add_error(s, "section header without closing ']'");
                return false;
        }
        for (rest = close + 1; rest < line + len && is_blank(*rest); rest++)
                ;
        if (rest < line + len && *rest != '#' && *rest != ';') {
                add_error(s, "unexpected text after section header");
                return false;
        }
        if (!section_known(s, line + 1, (size_t) (close - line - 1)))
                add_error(s, "unknown section [%.*s]", (int) (close - line - 1), line + 1);
        return true;
}

/* Checks a "Key=value" line for what libinih would silently get wrong. */
static bool check_assignment_line(ParseState *s, const char *line, size_t len) {
        if (!memchr(line, '=', len)) {
                add_error(s, "expected \"[Section]\" or \"Key=value\", found \"%.*s\"", (int) len, line);
                return false;
        }
        /* libinih treats ';' after a blank as the start of a comment and would
         * cut the value there; refuse rather than run a truncated command. */
        for (size_t i = 1; i < len; i++)
                if (line[i] == ';' && ini_comment_space(line[i - 1])) {
                        add_error(s, "';' after a blank would start a comment and cut the value; "
                                     "remove the blank before it or move the comment to its own line");
                        return false;
                }
        return true;
}

/* Feeds libinih one line at a time, checking each first. A rejected line is
 * passed on as an empty line so line numbers stay right and the rest of the
 * file is still checked. Leading blanks are dropped: libinih would otherwise
 * take an indented "Key=value" as a continuation of the previous value. */
static char *read_line(char *str, int num, void *stream) {
        ParseState *s = stream;
        const char *start, *newline, *bad;
        size_t len;

        if (s->pos >= s->size)
                return NULL;

        start = s->data + s->pos;
        newline = memchr(start, '\n', s->size - s->pos);
        len = newline ? (size_t) (newline - start) : s->size - s->pos;
        s->pos += len + (newline ? 1 : 0);
        s->line++;
        str[0] = '\0';

        if (len > 0 && start[len - 1] == '\r')
                len--;
        if (memchr(start, '\0', len)) {
                add_error(s, "NUL byte in line");
                return str;
        }
        bad = utf8_find_invalid(start, len);
        if (bad) {
                add_error(s, "invalid UTF-8 (byte 0x%02x at column %zu)", (unsigned char) *bad,
                          (size_t) (bad - start) + 1);
                return str;
        }
        while (len > 0 && is_blank(*start)) {
                start++;
                len--;
        }
        while (len > 0 && is_blank(start[len - 1]))
                len--;
        if (len > (size_t) num - 1) {
                add_error(s, "line is %zu bytes long, longer than the %d bytes the parser takes", len,
                          num - 1);
                return str;
        }

        /* An empty line's start may be the end of the buffer: look only within the line. */
        if (len > 0 && *start == '[' && !check_section_line(s, start, len)) {
                strcpy(str, BROKEN_SECTION_LINE);
                return str;
        }
        if (len > 0 && !strchr("#;[", *start) && !check_assignment_line(s, start, len))
                return str;

        memcpy(str, start, len);
        str[len] = '\0';
        return str;
}

static int handle_assignment(void *user, const char *section, const char *key, const char *value) {
        ParseState *s = user;
        const ConfigItem *item;
        char reason[256] = "";
        int r;

        if (isempty(section)) {
                add_error(s, "%s= outside of any section", key);
                return 1;
        }
        if (!section_known(s, section, strlen(section)))
                return 1; /* the header line was reported already */

        item = find_item(s, section, key);
        if (!item) {
                add_error(s, "[%s] %s=: unknown key", section, key);
                return 1;
        }

        if (item->type->list && !s->assigned[item - s->items])
                *(char ***) ((char *) s->target + item->offset) =
                        strv_free(*(char ***) ((char *) s->target + item->offset));
        s->assigned[item - s->items] = true;

        r = item->type->parse(item, value, (char *) s->target + item->offset, reason, sizeof(reason));
        if (r == -ENOMEM) {
                s->oom = true;
                return 0;
        }
        if (r < 0)
                add_error(s, "[%s] %s=%s: %s", section, key, value, reason[0] ? reason : strerror(-r));
        return 1;
}

static int read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > CONFIG_FILE_MAX)
                return -EFBIG;

        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* The size may change under us; read what is there, up to the cap. */
        for (;;) {
                ssize_t n = read(fd, buf + size, (size_t) st.st_size - size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0 || size + (size_t) n == (size_t) st.st_size) {
                        size += (size_t) n;
                        break;
                }
                size += (size_t) n;
        }
        buf[size] = '\0';

        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static const char *read_error_reason(int r) {
        switch (r) {
        case -EBADFD:
                return "not a regular file";
        case -EFBIG:
                return "file larger than 1 MiB";
        default:
                return strerror(-r);
        }
}

int config_parse_file(const char *path, const ConfigItem *items, size_t n_items, void *target,
                      bool *assigned, char ***errors) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_file(path, &data, &size);
        if (r == -ENOENT)
                return r;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                char *line = NULL;

                if (asprintf(&line, "%s: cannot read: %s", path, read_error_reason(r)) < 0)
                        return -ENOMEM;
                if (strv_consume(errors, line) < 0)
                        return -ENOMEM;
                return r;
        }
        return config_parse_buffer(path, data, size, items, n_items, target, assigned, errors);
}

int config_parse_buffer(const char *path, const char *data, size_t size, const ConfigItem *items,
                        size_t n_items, void *target, bool *assigned, char ***errors) {
        ParseState s = {
                .path = path,
                .data = data,
                .size = size,
                .items = items,
                .n_items = n_items,
                .target = target,
                .assigned = assigned,
                .errors = errors,
        };
        int r;

        /* A UTF-8 byte order mark is harmless; drop it before the line checks. */
        if (size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
                s.pos = 3;

        r = ini_parse_stream(read_line, &s, handle_assignment, &s);
        if (s.oom || r == -2)
                return -ENOMEM;
        if (r > 0 && !s.failed) {
                /* Our own line checks should have caught whatever libinih
                 * rejected; keep this so no rejected line ever goes unreported. */
                s.line = (unsigned) r;
                add_error(&s, "syntax error");
        }
        return s.failed ? -EINVAL : 0;
}

#define LINE_BYTES_MAX (INI_MAX_LINE - 1)

/* A list too long for one line goes over several assignments (read on its
 * own, the first replaces the default and the others append), each word in
 * its shortest form if its usual one does not fit. */
static int dump_list(const ConfigItem *item, char *const *words, FILE *out) {
        size_t used = strlen(item->key) + 1;

        fprintf(out, "%s=", item->key);
        for (char *const *w = words; w && *w; w++) {
                _cleanup_free_ char *q = quote_word(*w);

                if (q && strlen(item->key) + 1 + strlen(q) > LINE_BYTES_MAX) {
                        free(q);
                        q = quote_word_compact(*w);
                }
                if (!q)
                        return -ENOMEM;
                if (w != words && used + 1 + strlen(q) > LINE_BYTES_MAX) {
                        fprintf(out, "\n%s=", item->key);
                        used = strlen(item->key) + 1;
                } else if (w != words) {
                        fputc(' ', out);
                        used++;
                }
                fputs(q, out);
                used += strlen(q);
        }
        fputc('\n', out);
        return 0;
}

/* A command too long for one line in its usual quoting, each word in its
 * shortest form: never longer than the line it was read from. */
static int dump_command_compact(const ConfigItem *item, char *const *words, FILE *out) {
        fprintf(out, "%s=", item->key);
        for (char *const *w = words; w && *w; w++) {
                _cleanup_free_ char *q = quote_word_compact(*w);

                if (!q)
                        return -ENOMEM;
                fprintf(out, "%s%s", w != words ? " " : "", q);
        }
        fputc('\n', out);
        return 0;
}

static int dump_item(const ConfigItem *item, const void *field, FILE *out) {
        _cleanup_free_ char *value = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&value, &size);
        if (!f)
                return -ENOMEM;
        r = item->type->format(item, field, f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;

        /* The dump must read back, and the parser takes lines of limited length. */
        if (strlen(item->key) + 1 + size > LINE_BYTES_MAX) {
                if (item->type->list)
                        return dump_list(item, *(char **const *) field, out);
                if (item->type == &config_type_command)
                        return dump_command_compact(item, *(char **const *) field, out);
        }
        fprintf(out, "%s=%s\n", item->key, value);
        return 0;
}

int config_dump(const ConfigItem *items, size_t n_items, const void *target, FILE *out) {
        const char *section = NULL;
        int r;

        for (size_t i = 0; i < n_items; i++) {
                if (!section || !streq(section, items[i].section)) {
                        fprintf(out, "%s[%s]\n", section ? "\n" : "", items[i].section);
                        section = items[i].section;
                }
                r = dump_item(&items[i], (const char *) target + items[i].offset, out);
                if (r < 0)
                        return r;
        }
        return ferror(out) ? -EIO : 0;
}
