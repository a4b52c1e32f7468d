/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Making names from the kernel (comm, paths: any byte but NUL) safe to
 * print: C-style escapes for terminals, JSON strings for machines. */

#include <stdio.h>

/* A copy with control characters, backslashes and bytes that are not valid
 * UTF-8 written as \n, \t, \\ or \xNN; NULL on ENOMEM. */
char *cescape(const char *s);

/* s as a JSON string literal (null for NULL). Invalid UTF-8 cannot be said
 * in JSON; each such byte becomes the text \xNN (JSON "\\xNN"), as cescape()
 * and the bus write it, so the output stays valid. */
void json_write_string(FILE *f, const char *s);

/* The inverse of cescape() for \n, \t, \\ and \xNN (any byte but NUL);
 * -EINVAL on any other escape, a cut-off one, or \x00. */
int cunescape(const char *s, char **ret);
