/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict UTF-8 validation (no overlong forms, no surrogates, nothing past
 * U+10FFFF), for text that reaches the journal and D-Bus. */

#include <stddef.h>

/* Returns a pointer to the first byte that does not start a valid sequence,
 * or NULL if all n bytes are valid UTF-8. */
const char *utf8_find_invalid(const char *s, size_t n);
