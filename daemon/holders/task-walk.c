/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every build of the task walk shares: the walk's names, and the
 * result of a walk. The walk itself is in task-walk-bpf.c, or, in a build
 * without libbpf, task-walk-none.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "holders/task-walk.h"

static const char *const holder_walk_names[_HOLDER_WALK_MAX] = {
        [HOLDER_WALK_AUTO] = "auto",
        [HOLDER_WALK_PROC] = "proc",
        [HOLDER_WALK_BPF] = "bpf",
};

DEFINE_ENUM_TO_STRING(holder_walk, HolderWalk, holder_walk_names, _HOLDER_WALK_MAX);

HolderWalk holder_walk_from_string(const char *s) {
        for (HolderWalk i = 0; i < _HOLDER_WALK_MAX; i++)
                if (s && strcmp(s, holder_walk_names[i]) == 0)
                        return i;
        return -EINVAL;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

bool task_walk_result_holding(const TaskWalkResult *r, pid_t tgid) {
        return r->n_holding > 0 && bsearch(&tgid, r->holding, r->n_holding, sizeof(pid_t), cmp_pid);
}

void task_walk_result_done(TaskWalkResult *r) {
        free(r->tasks);
        free(r->holding);
        *r = (TaskWalkResult) {};
}
