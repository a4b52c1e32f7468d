/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>

#include "basic/quote.h"
#include "basic/strv.h"

Test(quote, splits_like_execstart) {
        _cleanup_strv_free_ char **w = NULL;

        cr_assert_eq(split_words("  /bin/echo 'a b'  \"c \\\"d\\\"\" e\\ f \"\" x'y'z \\n", &w), 0);
        cr_assert_eq(strv_length(w), 7);
        cr_assert_str_eq(w[0], "/bin/echo");
        cr_assert_str_eq(w[1], "a b");
        cr_assert_str_eq(w[2], "c \"d\"");
        cr_assert_str_eq(w[3], "e f");
        cr_assert_str_eq(w[4], "", "an empty quoted word is a word");
        cr_assert_str_eq(w[5], "xyz");
        cr_assert_str_eq(w[6], "\n");
}

Test(quote, blank_input_gives_no_words) {
        _cleanup_strv_free_ char **w = NULL;

        cr_assert_eq(split_words(" \t ", &w), 0);
        cr_assert_eq(strv_length(w), 0);
}

Test(quote, rejects_unterminated_quotes_and_trailing_backslash) {
        static const char *const bad[] = { "'open", "\"open", "a \"b", "trailing\\" };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_strv_free_ char **w = NULL;

                cr_assert_eq(split_words(bad[i], &w), -EINVAL, "\"%s\" accepted", bad[i]);
                cr_assert_null(w);
        }
}

Test(quote, quoting_round_trips_hostile_words) {
        char *words[] = { "plain", "with space", "", "quo\"te", "back\\slash", "new\nline", "tab\there",
                          "it's", "ünïcödé", NULL };
        _cleanup_free_ char *joined = join_quoted(words);
        _cleanup_strv_free_ char **back = NULL;

        cr_assert_not_null(joined);
        cr_assert_eq(split_words(joined, &back), 0, "cannot re-split: %s", joined);
        cr_assert_eq(strv_length(back), strv_length(words));
        for (size_t i = 0; words[i]; i++)
                cr_assert_str_eq(back[i], words[i]);
}

Test(quote, plain_words_stay_unquoted) {
        _cleanup_free_ char *q = quote_word("/usr/sbin/dockerd");

        cr_assert_str_eq(q, "/usr/sbin/dockerd");
}

/* libinih would cut a line at a ';' after any space byte, so neither quoting
 * writes one there; both still read back exactly. */
Test(quote, semicolon_after_any_space_byte_is_escaped) {
        static const char *const words[] = { "a\r;b", "a\f;b", "a\v;b", "a \r;b", "\r;" };

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                char *(*quoters[])(const char *) = { quote_word, quote_word_compact };

                for (size_t k = 0; k < 2; k++) {
                        _cleanup_free_ char *q = quoters[k](words[i]);
                        _cleanup_strv_free_ char **back = NULL;

                        cr_assert_not_null(q);
                        for (const char *s = strchr(q, ';'); s; s = strchr(s + 1, ';'))
                                cr_assert(!ini_comment_space(s[-1]), "quoter %zu wrote a bare ';' after a space: %s", k, q);
                        cr_assert_eq(split_words(q, &back), 0, "cannot re-split: %s", q);
                        cr_assert_eq(strv_length(back), 1);
                        cr_assert_str_eq(back[0], words[i]);
                }
        }
}
