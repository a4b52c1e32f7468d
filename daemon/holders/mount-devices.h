/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which devices a mount namespace has mounted: the set of st_dev numbers
 * in a mountinfo text, for following the engine's mounts cheaply. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct DevSet {
        dev_t *devs;            /* sorted, unique */
        size_t n;
} DevSet;

void dev_set_done(DevSet *s);
bool dev_set_contains(const DevSet *s, dev_t dev);

/* Every "MAJ:MIN" of mountinfo's third field. Pure; -EBADMSG on a line
 * without one. */
int mountinfo_parse_devices(const char *buf, DevSet *ret);
