/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/quote.h"
#include "basic/strv.h"

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

/* A ';' right after a space would start a comment for libinih (and the
 * configuration parser refuses such lines), so that one is written "\;". */
static bool semicolon_after_blank(const char *word, size_t i) {
        return word[i] == ';' && (i == 0 || ini_comment_space(word[i - 1]));
}

/* libinih strips every isspace() byte from both ends of a value, form feed
 * and vertical tab too, so a word must not start or end with one bare. */
#define INI_SPACES "\f\v"

static bool needs_quoting(const char *word) {
        return *word == '\0' || strpbrk(word, WORD_BLANKS "'\"\\" INI_SPACES) != NULL ||
                semicolon_after_blank(word, 0);
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
        if (!strpbrk(word, "'\n;") && strlen(word) + 2 < double_quoted_size(word))
                return asprintf(&out, "'%s'", word) < 0 ? NULL : out;

        /* Worst case every byte becomes two, plus the quotes. */
        out = malloc(strlen(word) * 2 + 3);
        if (!out)
                return NULL;
        o = out;
        *o++ = '"';
        for (const char *s = word; *s; s++) {
                if (s != word && semicolon_after_blank(word, (size_t) (s - word))) {
                        *o++ = '\\';
                        *o++ = ';';
                        continue;
                }
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

/* How a byte costs in each quoting state of quote_word_compact(); SIZE_MAX:
 * cannot be written there. */
enum { STATE_BARE, STATE_SINGLE, STATE_DOUBLE, _STATE_MAX };

static size_t byte_cost(int state, char c, bool after_blank, bool at_edge) {
        if (c == ';' && after_blank)
                return state == STATE_SINGLE ? SIZE_MAX : 2;
        switch (state) {
        case STATE_BARE:
                /* A raw \r here would separate words, and "\r" reads as 'r';
                 * a bare \f or \v at either end of a value is stripped. */
                if (c == '\r' || (at_edge && strchr(INI_SPACES, c)))
                        return SIZE_MAX;
                return strchr(WORD_BLANKS "'\"\\", c) ? 2 : 1;
        case STATE_SINGLE:
                return c == '\'' || c == '\n' ? SIZE_MAX : 1;
        default:
                return c == '"' || c == '\\' || c == '\n' ? 2 : 1;
        }
}

static void emit_byte(Buf *b, int state, char c, bool after_blank) {
        if (!(c == ';' && after_blank) &&
            (state == STATE_SINGLE || (state == STATE_DOUBLE && !strchr("\"\\\n", c)) ||
             (state == STATE_BARE && !strchr(WORD_BLANKS "'\"\\", c)))) {
                b->data[b->len++] = c;
                return;
        }
        b->data[b->len++] = '\\';
        b->data[b->len++] = c == '\n' ? 'n' : c == '\t' ? 't' : c;
}

/* Whether byte i, written in state t after byte i-1 in state f, comes right
 * after a blank: a quote in between or the start of a quoted word is not. */
static bool follows_blank(const char *word, size_t i, int f, int t) {
        if (i == 0)
                return t == STATE_BARE; /* after the blank (or '=') before the word */
        return f == t && ini_comment_space(word[i - 1]);
}

/* The cheapest way to write each prefix of word ending in each state, one
 * byte at a time; a change of state costs its closing and opening quotes.
 * from[i * _STATE_MAX + t] is the state of byte i - 1 on the cheapest way
 * to byte i in state t; cost[] ends as the cost of the whole word by the
 * state of its last byte, SIZE_MAX where no way exists. */
static void find_cheapest(const char *word, size_t n, unsigned char *from, size_t cost[static _STATE_MAX]) {
        /* Before the first byte nothing is open. */
        cost[STATE_BARE] = 0;
        cost[STATE_SINGLE] = cost[STATE_DOUBLE] = SIZE_MAX;

        for (size_t i = 0; i < n; i++) {
                size_t next[_STATE_MAX];

                for (int t = 0; t < _STATE_MAX; t++) {
                        next[t] = SIZE_MAX;
                        for (int f = 0; f < _STATE_MAX; f++) {
                                size_t c = byte_cost(t, word[i], follows_blank(word, i, f, t),
                                                     i == 0 || i == n - 1);
                                size_t k = cost[f] == SIZE_MAX || c == SIZE_MAX
                                                   ? SIZE_MAX
                                                   : cost[f] + c + (f != t) * ((f != STATE_BARE) + (t != STATE_BARE));

                                if (k < next[t]) {
                                        next[t] = k;
                                        from[i * _STATE_MAX + t] = (unsigned char) f;
                                }
                        }
                }
                memcpy(cost, next, sizeof(next));
        }
}

/* Picks the cheapest last state, counting the quote that closes it, and
 * follows from[] back to the state of every byte. */
static void trace_back(const unsigned char *from, const size_t cost[static _STATE_MAX], size_t n,
                       unsigned char *path) {
        int state = STATE_BARE;

        for (int t = 0; t < _STATE_MAX; t++)
                if (cost[t] != SIZE_MAX && cost[t] + (t != STATE_BARE) < cost[state] + (state != STATE_BARE))
                        state = t;
        for (size_t i = n; i > 0; i--) {
                path[i - 1] = (unsigned char) state;
                state = from[(i - 1) * _STATE_MAX + state];
        }
}

/* Writes word into b in the state path gives each byte, opening and closing
 * quotes where the state changes. b has room for the result. */
static void write_path(Buf *b, const char *word, size_t n, const unsigned char *path) {
        static const char quote_of[_STATE_MAX] = { 0, '\'', '"' };
        int state = STATE_BARE;

        for (size_t i = 0; i < n; i++) {
                bool after_blank = follows_blank(word, i, i > 0 ? path[i - 1] : STATE_BARE, path[i]);

                if (path[i] != state) {
                        if (state != STATE_BARE)
                                b->data[b->len++] = quote_of[state];
                        state = path[i];
                        if (state != STATE_BARE)
                                b->data[b->len++] = quote_of[state];
                }
                emit_byte(b, state, word[i], after_blank);
        }
        if (state != STATE_BARE)
                b->data[b->len++] = quote_of[state];
        b->data[b->len] = '\0';
}

char *quote_word_compact(const char *word) {
        _cleanup_(buf_done) Buf b = {};
        _cleanup_free_ unsigned char *from = NULL, *path = NULL;
        size_t n = strlen(word), cost[_STATE_MAX];

        if (n == 0)
                return strdup("\"\"");
        from = malloc(n * _STATE_MAX);
        path = malloc(n);
        /* Room for the whole word double-quoted with every byte escaped: the
         * shortest form is never longer, so the writes below need no checks. */
        if (!from || !path || buf_reserve(&b, n * 2 + 2) < 0)
                return NULL;

        find_cheapest(word, n, from, cost);
        trace_back(from, cost, n, path);
        write_path(&b, word, n, path);
        return TAKE_PTR(b.data);
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
