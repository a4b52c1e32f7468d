/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "basic/array.h"
#include "basic/macro.h"

typedef struct Item {
        uint64_t a;
        uint32_t b;
} Item;

Test(array, reserve_doubles) {
        _cleanup_free_ Item *items = NULL;
        size_t n = 0, allocated = 0, growths = 0;

        for (size_t i = 0; i < 1000; i++) {
                size_t before = allocated;

                cr_assert_eq(ARRAY_RESERVE(items, allocated, n + 1), 0);
                cr_assert_geq(allocated, n + 1);
                if (allocated != before) {
                        growths++;
                        cr_assert_geq(allocated, 2 * before, "grew from %zu to %zu only", before, allocated);
                }
                items[n++] = (Item) { .a = i, .b = (uint32_t) ~i };
        }
        /* 4, 8, ..., 1024 */
        cr_assert_eq(growths, 9, "%zu growths for 1000 items", growths);
        cr_assert_eq(allocated, 1024);
        for (size_t i = 0; i < n; i++)
                cr_assert(items[i].a == i && items[i].b == (uint32_t) ~i, "item %zu", i);
}

Test(array, reserve_makes_room_for_what_is_asked) {
        _cleanup_free_ Item *items = NULL;
        Item *before;
        size_t allocated = 0;

        cr_assert_eq(ARRAY_RESERVE(items, allocated, 0), 0);
        cr_assert_null(items, "no room asked, none made");
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 1), 0);
        cr_assert_eq(allocated, ARRAY_MIN_ALLOCATED);
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 100), 0, "more than double at once");
        cr_assert_eq(allocated, 100);
        before = items;
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 100), 0);
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 7), 0);
        cr_assert_eq(items, before, "room enough: nothing moves");
        cr_assert_eq(allocated, 100, "and nothing shrinks");
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 101), 0);
        cr_assert_eq(allocated, 200);
}

Test(array, reserve_enomem_leaves_the_array) {
        _cleanup_free_ Item *items = NULL;
        /* volatile: the compiler would refuse the call it can see fail. */
        volatile size_t too_many = SIZE_MAX / sizeof(Item) + 1;
        size_t allocated = 0;

#if DMWARDEN_SANITIZED
        cr_skip_test("the sanitizers' allocator reports a size this large instead of failing it");
#endif
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 3), 0);
        items[2] = (Item) { .a = 42 };
        cr_assert_eq(ARRAY_RESERVE(items, allocated, too_many), -ENOMEM);
        cr_assert_not_null(items);
        cr_assert_eq(allocated, ARRAY_MIN_ALLOCATED);
        cr_assert_eq(items[2].a, 42);
}

Test(array, reserve_on_a_taken_array) {
        _cleanup_free_ Item *items = NULL;
        size_t allocated = 0;

        cr_assert_eq(ARRAY_RESERVE(items, allocated, 50), 0);
        free(TAKE_PTR(items));
        /* The count still says 50: a NULL array has room for none. */
        cr_assert_eq(ARRAY_RESERVE(items, allocated, 1), 0);
        cr_assert_not_null(items);
        cr_assert_eq(allocated, ARRAY_MIN_ALLOCATED);
}

Test(array, append_room_follows_the_count) {
        cr_assert_eq(array_append_allocated(0), 0);
        cr_assert_eq(array_append_allocated(1), 4);
        cr_assert_eq(array_append_allocated(4), 4);
        cr_assert_eq(array_append_allocated(5), 8);
        cr_assert_eq(array_append_allocated(8), 8);
        cr_assert_eq(array_append_allocated(9), 16);
        cr_assert_eq(array_append_allocated(1000), 1024);
}

Test(array, append_copies_and_grows) {
        _cleanup_free_ Item *items = NULL;
        size_t n = 0;

        for (size_t i = 0; i < 1000; i++) {
                Item it = { .a = i, .b = (uint32_t) (3 * i) };

                cr_assert_eq(array_append((void **) &items, &n, sizeof(Item), &it), 0);
                cr_assert_eq(n, i + 1);
        }
        for (size_t i = 0; i < n; i++)
                cr_assert(items[i].a == i && items[i].b == 3 * i, "item %zu", i);
}
