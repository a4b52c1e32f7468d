/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Growing an array of plain structs by one copied item. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Appends a copy of the size bytes at item to *array of *n items;
 * -ENOMEM leaves both as they were. */
static inline int array_append(void **array, size_t *n, size_t size, const void *item) {
        void *grown = reallocarray(*array, *n + 1, size);

        if (!grown)
                return -ENOMEM;
        memcpy((char *) grown + *n * size, item, size);
        *array = grown;
        (*n)++;
        return 0;
}
