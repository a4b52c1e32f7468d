/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>

#include "basic/utf8.h"

static ptrdiff_t first_invalid(const char *s) {
        const char *bad = utf8_find_invalid(s, strlen(s));

        return bad ? bad - s : -1;
}

Test(utf8, accepts_valid_text) {
        cr_assert_eq(first_invalid("plain ascii"), -1);
        cr_assert_eq(first_invalid("gr\xc3\xbc\xc3\x9f dich"), -1);
        cr_assert_eq(first_invalid("\xe2\x82\xac"), -1);        /* euro sign */
        cr_assert_eq(first_invalid("\xf0\x9f\x90\xb3"), -1);    /* whale, 4 bytes */
        cr_assert_eq(first_invalid("\xf4\x8f\xbf\xbf"), -1);    /* U+10FFFF */
}

Test(utf8, finds_first_invalid_byte) {
        cr_assert_eq(first_invalid("ab\xff"), 2);
        cr_assert_eq(first_invalid("a\xc3"), 1, "truncated sequence");
        cr_assert_eq(first_invalid("\xc0\xaf"), 0, "overlong slash");
        cr_assert_eq(first_invalid("\xe0\x80\xaf"), 0, "overlong, 3 bytes");
        cr_assert_eq(first_invalid("x\xed\xa0\x80"), 1, "UTF-16 surrogate");
        cr_assert_eq(first_invalid("\xf4\x90\x80\x80"), 0, "beyond U+10FFFF");
        cr_assert_eq(first_invalid("ok\x80"), 2, "lone continuation byte");
}
