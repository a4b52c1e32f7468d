/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every libFuzzer target here shares: the entry points, a checked
 * property that aborts with a message (so libFuzzer keeps the input), and
 * the input as a C string. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define fuzz_check(expr)                                                                  \
        do {                                                                              \
                if (!(expr)) {                                                            \
                        fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, \
                                __LINE__, #expr);                                         \
                        abort();                                                          \
                }                                                                         \
        } while (0)

/* The input up to its first NUL, as a string the caller frees (NULL: out of
 * memory, which the targets treat as "nothing to test"). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, 0, size);

        return strndup((const char *) data, nul ? (size_t) (nul - data) : size);
}
