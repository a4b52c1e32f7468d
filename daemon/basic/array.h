/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Growing arrays of plain structs. Room is made by doubling, so filling an
 * array one item at a time copies each item a bounded number of times on
 * average, not once per item added after it. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"

/* The room the first growth makes: most arrays here stay that small. */
#define ARRAY_MIN_ALLOCATED 4

/* Makes room for need items of size bytes in *array, which has room for
 * *allocated of them (counted next to, and apart from, the items in use),
 * at least doubling it when it must grow; in the spirit of systemd's
 * GREEDY_REALLOC. A NULL *array has room for none, whatever *allocated
 * says, so taking the array away (TAKE_PTR) needs no reset of the count.
 * -ENOMEM leaves both as they were. */
static inline int array_reserve(void **array, size_t *allocated, size_t need, size_t size) {
        size_t have = *array ? *allocated : 0, n;
        void *grown;

        if (need <= have)
                return 0;
        n = MAX(need, (size_t) ARRAY_MIN_ALLOCATED);
        if (have <= SIZE_MAX / 2)
                n = MAX(n, have * 2);
        grown = reallocarray(*array, n, size);
        if (!grown)
                return -ENOMEM;
        *array = grown;
        *allocated = n;
        return 0;
}

/* array_reserve() for a typed array: ARRAY_RESERVE(t->rows, t->n_rows_allocated,
 * t->n_rows + 1). array is evaluated more than once. */
#define ARRAY_RESERVE(array, allocated, need)                                           \
        ({                                                                              \
                void *_reserve_a = (array);                                             \
                int _reserve_r = array_reserve(&_reserve_a, &(allocated), (need),       \
                                               sizeof(*(array)));                       \
                (array) = _reserve_a;                                                   \
                _reserve_r;                                                             \
        })

/* The room array_append() has made for n items: none for none, else the
 * power of two at or above n, ARRAY_MIN_ALLOCATED at the least. */
static inline size_t array_append_allocated(size_t n) {
        size_t a = ARRAY_MIN_ALLOCATED;

        if (n == 0)
                return 0;
        while (a < n && a <= SIZE_MAX / 2)
                a *= 2;
        return a;
}

/* Appends a copy of the size bytes at item to *array of *n items; -ENOMEM
 * leaves both as they were. For arrays without a count of their room: it
 * is implied by *n (array_append_allocated()), so the array must have been
 * grown by array_append() only (or start out NULL). */
static inline int array_append(void **array, size_t *n, size_t size, const void *item) {
        size_t allocated = *array ? array_append_allocated(*n) : 0;
        int r;

        r = array_reserve(array, &allocated, array_append_allocated(*n + 1), size);
        if (r < 0)
                return r;
        memcpy((char *) *array + *n * size, item, size);
        (*n)++;
        return 0;
}
