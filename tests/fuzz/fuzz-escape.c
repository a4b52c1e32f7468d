/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* C-style escaping of kernel strings, for any string: cescape() gives
 * printable UTF-8 that cunescape() turns back into the original; whatever
 * cunescape() accepts survives the same round trip; the JSON form is valid
 * UTF-8 without raw control characters. And the configuration's quoting:
 * both quote_word() forms read back as one word equal to the original, the
 * compact one never longer. */
#include <errno.h>

#include "basic/escape.h"
#include "basic/macro.h"
#include "basic/quote.h"
#include "basic/strv.h"
#include "basic/utf8.h"
#include "fuzz.h"

static bool printable_utf8(const char *s, size_t n) {
        if (utf8_find_invalid(s, n))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static void check_escape(const char *s) {
        _cleanup_free_ char *escaped = cescape(s), *back = NULL;
        int r;

        if (!escaped)
                return;
        fuzz_check(printable_utf8(escaped, strlen(escaped)));
        r = cunescape(escaped, &back);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0);
        fuzz_check(strcmp(back, s) == 0);
}

static void check_json(const char *s) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return;
        json_write_string(f, s);
        fclose(f);
        if (!text)
                return;
        fuzz_check(size >= 2 && text[0] == '"' && text[size - 1] == '"');
        fuzz_check(printable_utf8(text, size));
}

static void check_quote_form(const char *s, char *quoted) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (!quoted)
                return;
        r = split_words(quoted, &words);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0);
        fuzz_check(strv_length(words) == 1 && strcmp(words[0], s) == 0);
}

static void check_quote(const char *s) {
        _cleanup_free_ char *usual = quote_word(s), *compact = quote_word_compact(s);

        check_quote_form(s, usual);
        check_quote_form(s, compact);
        fuzz_check(!usual || !compact || strlen(compact) <= strlen(usual));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_string(data, size), *unescaped = NULL;
        int r;

        if (!s)
                return 0;
        check_escape(s);
        check_json(s);
        check_quote(s);

        r = cunescape(s, &unescaped);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0) {
                fuzz_check(strlen(unescaped) <= strlen(s));
                check_escape(unescaped);
        }
        return 0;
}
