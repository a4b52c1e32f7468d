/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/macro.h"
#include "holders/mount-devices.h"
#include "holders/mountinfo.h"

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

/* The engine's table can be 20,000 lines, read on every change of it: the
 * splitting is mountinfo.c's, which stays linear in the text. */
int mountinfo_parse_devices(const char *buf, DevSet *ret) {
        _cleanup_(dev_set_done) DevSet set = {};
        size_t allocated = 0, unique = 0, size;
        const char *p = buf, *end = buf + strlen(buf), *line;

        while (mountinfo_next_line(&p, end, &line, &size)) {
                dev_t dev;

                if (size == 0)
                        continue;
                if (mountinfo_parse_head(line, size, NULL, &dev) < 0)
                        return -EBADMSG;
                if (ARRAY_RESERVE(set.devs, allocated, set.n + 1) < 0)
                        return -ENOMEM;
                set.devs[set.n++] = dev;
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
