/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The task walk of a build without libbpf (-Dbpf=disabled): never there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "holders/task-walk.h"

int task_walk_open(TaskWalk **ret, char **ret_reason) {
        *ret = NULL;
        if (ret_reason)
                *ret_reason = strdup("built without BPF (-Dbpf=disabled)");
        return -EOPNOTSUPP;
}

bool task_walk_walks_mounts(const TaskWalk *w) {
        return false;
}

TaskWalk *task_walk_ref(TaskWalk *w) {
        return w;
}

TaskWalk *task_walk_unref(TaskWalk *w) {
        return NULL;
}

int task_walk_run(TaskWalk *w, const dev_t *devs, size_t n_devs, TaskWalkAsk ask, TaskWalkResult *ret) {
        return -EOPNOTSUPP;
}
