/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every build of the task walk shares: the result of a walk. The
 * walk itself is in task-walk-bpf.c (with mount-walk-bpf.c), or, in a
 * build without libbpf, task-walk-none.c. */
#include <stdlib.h>

#include "holders/task-walk.h"

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

bool task_walk_result_holding(const TaskWalkResult *r, pid_t tgid) {
        return r->n_holding > 0 && bsearch(&tgid, r->holding, r->n_holding, sizeof(pid_t), cmp_pid);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return (x > y) - (x < y);
}

bool task_walk_result_mounts_nothing(const TaskWalkResult *r, uint64_t mntns) {
        return r->mounts_known &&
               !(r->n_mounting > 0 && bsearch(&mntns, r->mounting, r->n_mounting, sizeof(uint64_t), cmp_u64));
}

void task_walk_result_done(TaskWalkResult *r) {
        free(r->tasks);
        free(r->holding);
        free(r->mounting);
        *r = (TaskWalkResult) {};
}
