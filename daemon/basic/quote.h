/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Splitting and quoting words the way systemd's ExecStart= does: blanks
 * separate words, 'single' quotes are literal, "double" quotes and bare words
 * take backslash escapes (\\ \" \' \n \t and a backslash before any other
 * character keeps that character). */

/* libinih starts an inline comment at a ';' that follows any isspace()
 * byte (" \t\n\v\f\r" in the C locale), not only a blank: the parser
 * refuses such a ';' and the quoting functions never write one. */
static inline bool ini_comment_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Extracts the next word from *p and advances *p. Returns 1 and a word,
 * 0 at the end of input, -EINVAL on an unterminated quote or a trailing
 * backslash, -ENOMEM. */
int extract_word(const char **p, char **ret);

/* Splits all of s into a NULL-terminated array (empty for blank input). */
int split_words(const char *s, char ***ret);

/* Returns a newly allocated form of word that extract_word() reads back
 * exactly: the word itself when it needs no quoting, else double-quoted, or
 * single-quoted where that is shorter (backslashes, tabs). */
char *quote_word(const char *word);

/* The shortest form of word that extract_word() reads back exactly, mixing
 * bare, 'single' and "double" quoted runs: never longer than however the
 * word was written, so what fitted a line fits it again. */
char *quote_word_compact(const char *word);

/* Joins words with single blanks, quoting each as needed. */
char *join_quoted(char *const *words);
