/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>

#include "basic/utf8.h"

/* Length of the valid sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0;

        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }

        /* Overlong encodings, UTF-16 surrogates, and beyond Unicode. */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
                return 0;
        if (cp >= 0xd800 && cp <= 0xdfff)
                return 0;
        if (cp > 0x10ffff)
                return 0;
        return len;
}

const char *utf8_find_invalid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        while (n > 0) {
                size_t len = utf8_sequence_length(p, n);

                if (len == 0)
                        return (const char *) p;
                p += len;
                n -= len;
        }
        return NULL;
}
