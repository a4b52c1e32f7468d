/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "basic/macro.h"
#include "shared/holder-walk.h"

const char *const holder_walk_names[_HOLDER_WALK_MAX + 1] = {
        [HOLDER_WALK_AUTO] = "auto",
        [HOLDER_WALK_PROC] = "proc",
        [HOLDER_WALK_BPF] = "bpf",
        NULL,
};

DEFINE_ENUM_TO_STRING(holder_walk, HolderWalk, holder_walk_names, _HOLDER_WALK_MAX);

HolderWalk holder_walk_from_string(const char *s) {
        for (int i = 0; s && i < _HOLDER_WALK_MAX; i++)
                if (streq(holder_walk_names[i], s))
                        return (HolderWalk) i;
        return -EINVAL;
}
