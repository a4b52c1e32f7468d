/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How a holder scan finds the processes, and the names the configuration
 * (ProcessWalk=), the bus and dmwardenctl (--walk=) spell them. The walks
 * themselves are holders/task-walk.h's and holders/holder-scan.c's. */

typedef enum HolderWalk {
        HOLDER_WALK_AUTO,        /* BPF where it loads, else /proc */
        HOLDER_WALK_PROC,
        HOLDER_WALK_BPF,
        _HOLDER_WALK_MAX,
} HolderWalk;

/* Indexed by HolderWalk, NULL-terminated (the configuration's enum table). */
extern const char *const holder_walk_names[_HOLDER_WALK_MAX + 1];

const char *holder_walk_to_string(HolderWalk w);
/* -EINVAL for a name that is no walk (NULL included). */
HolderWalk holder_walk_from_string(const char *s);
