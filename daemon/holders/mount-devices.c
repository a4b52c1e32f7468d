/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/macro.h"
#include "holders/mount-devices.h"

void dev_set_done(DevSet *s) {
        free(s->devs);
        *s = (DevSet) {};
}

static int dev_compare(const void *a, const void *b) {
        dev_t x = *(const dev_t *) a, y = *(const dev_t *) b;

        return x < y ? -1 : x > y;
}

bool dev_set_contains(const DevSet *s, dev_t dev) {
        return s->n > 0 && bsearch(&dev, s->devs, s->n, sizeof(dev_t), dev_compare);
}

/* A decimal number of at most 32 bits at *p, which is advanced past it. */
static bool parse_uint(const char **p, unsigned *ret) {
        uint64_t v = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > UINT_MAX)
                        return false;
        }
        *p = s;
        *ret = (unsigned) v;
        return true;
}

/* "ID PARENT MAJOR:MINOR ..." at the start of a line. Not sscanf(), which
 * measures the whole rest of the buffer on every call: quadratic in the
 * size of a big mount table. */
static bool parse_line_devno(const char *line, unsigned *ret_major, unsigned *ret_minor) {
        unsigned skip;

        return parse_uint(&line, &skip) && *line++ == ' ' && parse_uint(&line, &skip) && *line++ == ' ' &&
               parse_uint(&line, ret_major) && *line++ == ':' && parse_uint(&line, ret_minor) && *line == ' ';
}

int mountinfo_parse_devices(const char *buf, DevSet *ret) {
        _cleanup_(dev_set_done) DevSet set = {};
        size_t allocated = 0, unique = 0;

        for (const char *line = buf; line && *line;) {
                const char *nl = strchr(line, '\n');
                unsigned ma, mi;

                if (line[0] != '\n') {
                        if (!parse_line_devno(line, &ma, &mi))
                                return -EBADMSG;
                        if (set.n == allocated) {
                                size_t m = allocated ? allocated * 2 : 64;
                                dev_t *grown = reallocarray(set.devs, m, sizeof(dev_t));

                                if (!grown)
                                        return -ENOMEM;
                                set.devs = grown;
                                allocated = m;
                        }
                        set.devs[set.n++] = makedev(ma, mi);
                }
                line = nl ? nl + 1 : NULL;
        }

        if (set.n > 0) {
                qsort(set.devs, set.n, sizeof(dev_t), dev_compare);
                for (size_t i = 0; i < set.n; i++)
                        if (unique == 0 || set.devs[unique - 1] != set.devs[i])
                                set.devs[unique++] = set.devs[i];
                set.n = unique;
        }
        *ret = TAKE_GENERIC(set, (DevSet) {});
        return 0;
}
