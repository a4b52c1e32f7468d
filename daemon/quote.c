/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "quote.h"
#include "strv.h"

#define WORD_BLANKS " \t\n\r"

/* Growable buffer for building one word; data is always a valid string. */
typedef struct Buf {
        char *data;
        size_t len, cap;
} Buf;

static void buf_done(Buf *b) {
        free(b->data);
}

static int buf_reserve(Buf *b, size_t extra) {
        size_t cap;
        char *d;

        if (b->len + extra + 1 <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 32;
        while (cap < b->len + extra + 1)
                cap *= 2;
        d = realloc(b->data, cap);
        if (!d)
                return -ENOMEM;
        b->data = d;
        b->cap = cap;
        b->data[b->len] = '\0';
        return 0;
}

static int buf_push(Buf *b, char c) {
        int r = buf_reserve(b, 1);

        if (r < 0)
                return r;
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
}

static int buf_append(Buf *b, const char *s) {
        size_t n = strlen(s);
        int r = buf_reserve(b, n);

        if (r < 0)
                return r;
        memcpy(b->data + b->len, s, n + 1);
        b->len += n;
        return 0;
}

static char unescape(char c) {
        switch (c) {
        case 'n':
                return '\n';
        case 't':
                return '\t';
        default:
                return c;
        }
}

int extract_word(const char **p, char **ret) {
        _cleanup_(buf_done) Buf b = {};
        char quote = 0;
        const char *s = *p;
        int r;

        s += strspn(s, WORD_BLANKS);
        if (*s == '\0') {
                *p = s;
                *ret = NULL;
                return 0;
        }

        /* Even a word that is only "" must come back as a string. */
        r = buf_reserve(&b, 0);
        if (r < 0)
                return r;

        for (; *s; s++) {
                char c = *s;

                if (quote == '\'') {
                        if (c == '\'') {
                                quote = 0;
                                continue;
                        }
                } else if (c == '\\') {
                        if (s[1] == '\0')
                                return -EINVAL;
                        c = unescape(*++s);
                } else if (quote == '"') {
                        if (c == '"') {
                                quote = 0;
                                continue;
                        }
                } else if (c == '\'' || c == '"') {
                        quote = c;
                        continue;
                } else if (strchr(WORD_BLANKS, c))
                        break;

                r = buf_push(&b, c);
                if (r < 0)
                        return r;
        }
        if (quote != 0)
                return -EINVAL;

        *p = s;
        *ret = TAKE_PTR(b.data);
        return 1;
}

int split_words(const char *s, char ***ret) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        words = calloc(1, sizeof(char *));
        if (!words)
                return -ENOMEM;

        for (const char *p = s;;) {
                char *w;

                r = extract_word(&p, &w);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = strv_consume(&words, w);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(words);
        return 0;
}

static bool needs_quoting(const char *word) {
        return *word == '\0' || strpbrk(word, WORD_BLANKS "'\"\\") != NULL;
}

/* Bytes of the double-quoted form, quotes included. */
static size_t double_quoted_size(const char *word) {
        size_t n = 2;

        for (const char *s = word; *s; s++)
                n += strchr("\n\t\"\\", *s) ? 2 : 1;
        return n;
}

char *quote_word(const char *word) {
        char *out, *o;

        if (!needs_quoting(word))
                return strdup(word);
        /* Single quotes take every byte but ' literally (a newline would end
         * the line); when that is shorter, use it, so that a word written
         * back (--dump-config) is never longer than the shortest way the
         * user could have written it in one style. */
        if (!strpbrk(word, "'\n") && strlen(word) + 2 < double_quoted_size(word))
                return asprintf(&out, "'%s'", word) < 0 ? NULL : out;

        /* Worst case every byte becomes two, plus the quotes. */
        out = malloc(strlen(word) * 2 + 3);
        if (!out)
                return NULL;
        o = out;
        *o++ = '"';
        for (const char *s = word; *s; s++) {
                switch (*s) {
                case '\n':
                        *o++ = '\\';
                        *o++ = 'n';
                        break;
                case '\t':
                        *o++ = '\\';
                        *o++ = 't';
                        break;
                case '"':
                case '\\':
                        *o++ = '\\';
                        *o++ = *s;
                        break;
                default:
                        *o++ = *s;
                }
        }
        *o++ = '"';
        *o = '\0';
        return out;
}

char *join_quoted(char *const *words) {
        _cleanup_(buf_done) Buf b = {};

        if (buf_reserve(&b, 0) < 0)
                return NULL;

        for (char *const *w = words; w && *w; w++) {
                _cleanup_free_ char *q = quote_word(*w);

                if (!q)
                        return NULL;
                if (w != words && buf_push(&b, ' ') < 0)
                        return NULL;
                if (buf_append(&b, q) < 0)
                        return NULL;
        }
        return TAKE_PTR(b.data);
}
