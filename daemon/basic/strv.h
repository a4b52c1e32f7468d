/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string arrays ("strv"), owned with their strings. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Takes ownership of value, also on failure. */
int strv_consume(char ***l, char *value);
int strv_extend(char ***l, const char *value);
int strv_copy(char *const *l, char ***ret);
