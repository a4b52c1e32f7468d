/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/escape.h"
#include "basic/macro.h"
#include "basic/utf8.h"

/* Calls emit_valid for each run of valid UTF-8 and emit_invalid for each
 * byte that starts no valid sequence. */
static void split_utf8(const char *s, void (*emit_valid)(const char *p, size_t n, void *u),
                       void (*emit_invalid)(unsigned char c, void *u), void *u) {
        size_t n = strlen(s);

        while (n > 0) {
                const char *bad = utf8_find_invalid(s, n);
                size_t good = bad ? (size_t) (bad - s) : n;

                emit_valid(s, good, u);
                s += good;
                n -= good;
                if (bad) {
                        emit_invalid((unsigned char) *s, u);
                        s++;
                        n--;
                }
        }
}

typedef struct Buf {
        char *p;
        size_t n;
} Buf;

static void c_valid(const char *p, size_t n, void *u) {
        Buf *b = u;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) p[i];

                if (c == '\\') {
                        b->p[b->n++] = '\\';
                        b->p[b->n++] = '\\';
                } else if (c == '\n') {
                        b->p[b->n++] = '\\';
                        b->p[b->n++] = 'n';
                } else if (c == '\t') {
                        b->p[b->n++] = '\\';
                        b->p[b->n++] = 't';
                } else if (c < 0x20 || c == 0x7f)
                        b->n += (size_t) sprintf(b->p + b->n, "\\x%02x", c);
                else
                        b->p[b->n++] = (char) c;
        }
}

static void c_invalid(unsigned char c, void *u) {
        Buf *b = u;

        b->n += (size_t) sprintf(b->p + b->n, "\\x%02x", c);
}

char *cescape(const char *s) {
        Buf b = { .p = malloc(strlen(s) * 4 + 1) }; /* \xNN is the longest form */

        if (!b.p)
                return NULL;
        split_utf8(s, c_valid, c_invalid, &b);
        b.p[b.n] = 0;
        return b.p;
}

static void json_valid(const char *p, size_t n, void *u) {
        FILE *f = u;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) p[i];

                switch (c) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                fprintf(f, "\\u%04x", c);
                        else
                                fputc(c, f);
                }
        }
}

/* As cescape() writes it, and the bus carries it: a reader can tell the
 * byte, which U+FFFD would lose. */
static void json_invalid(unsigned char c, void *u) {
        fprintf((FILE *) u, "\\\\x%02x", c);
}

void json_write_string(FILE *f, const char *s) {
        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        split_utf8(s, json_valid, json_invalid, f);
        fputc('"', f);
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int cunescape(const char *s, char **ret) {
        _cleanup_free_ char *out = malloc(strlen(s) + 1);
        char *o = out;

        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                int hi, lo;

                if (*s != '\\') {
                        *o++ = *s;
                        continue;
                }
                switch (*++s) {
                case 'n': *o++ = '\n'; break;
                case 't': *o++ = '\t'; break;
                case '\\': *o++ = '\\'; break;
                case 'x':
                        hi = hex_digit(s[1]);
                        lo = hi < 0 ? -EINVAL : hex_digit(s[2]);
                        if (lo < 0 || (hi == 0 && lo == 0))
                                return -EINVAL;
                        *o++ = (char) (hi << 4 | lo);
                        s += 2;
                        break;
                default:
                        return -EINVAL;
                }
        }
        *o = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}
