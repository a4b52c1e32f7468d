/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration parser on any file text. Properties: a refused file
 * says why, every reason naming the file and line; an accepted one dumps
 * (--dump-config) to a text that reads back to the same configuration. */
#include <errno.h>

#include "basic/strv.h"
#include "config/conf-parser.h"
#include "config/config.h"
#include "fuzz.h"

static char *dump(const Config *c, size_t *ret_size) {
        char *text = NULL;
        FILE *f = open_memstream(&text, ret_size);

        if (!f)
                return NULL;
        fuzz_check(config_dump_all(c, f) >= 0);
        fclose(f);
        return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        _cleanup_strv_free_ char **errors = NULL, **errors_again = NULL;
        _cleanup_free_ char *text = NULL, *text_again = NULL;
        size_t text_size, text_again_size;
        int r;

        if (size > CONFIG_FILE_MAX)
                return -1;
        r = config_load_buffer("fuzz.conf", (const char *) data, size, &c, &errors);
        if (r == -ENOMEM)
                return 0;
        if (r < 0) {
                fuzz_check(r == -EINVAL);
                fuzz_check(strv_length(errors) > 0);
                for (char **e = errors; *e; e++)
                        fuzz_check(strncmp(*e, "fuzz.conf:", 10) == 0);
                return 0;
        }

        text = dump(c, &text_size);
        if (!text)
                return 0;
        r = config_load_buffer("dump.conf", text, text_size, &again, &errors_again);
        if (r == -ENOMEM)
                return 0;
        if (r < 0) {
                fprintf(stderr, "The dump of an accepted configuration is refused:\n%s\n", text);
                for (char **e = errors_again; e && *e; e++)
                        fprintf(stderr, "%s\n", *e);
        }
        fuzz_check(r == 0);
        text_again = dump(again, &text_again_size);
        if (!text_again)
                return 0;
        if (text_size != text_again_size || memcmp(text, text_again, text_size) != 0)
                fprintf(stderr, "Dump:\n%s\nread back and dumped again:\n%s\n", text, text_again);
        fuzz_check(text_size == text_again_size && memcmp(text, text_again, text_size) == 0);
        return 0;
}
