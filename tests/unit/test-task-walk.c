/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The task walk's names and results (the walk itself needs the kernel:
 * the privileged suite and the VM). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "holders/task-walk.h"

Test(task_walk, names_round_trip) {
        for (HolderWalk w = 0; w < _HOLDER_WALK_MAX; w++)
                cr_assert_eq(holder_walk_from_string(holder_walk_to_string(w)), w);
        cr_assert_str_eq(holder_walk_to_string(HOLDER_WALK_BPF), "bpf");
        cr_assert_eq(holder_walk_from_string("BPF"), -EINVAL, "names are lower case, as given");
        cr_assert_eq(holder_walk_from_string(""), -EINVAL);
        cr_assert_eq(holder_walk_from_string(NULL), -EINVAL);
        cr_assert_null(holder_walk_to_string(_HOLDER_WALK_MAX));
}

Test(task_walk, holding_is_looked_up_by_process) {
        TaskWalkResult r = {};
        pid_t *holding = malloc(3 * sizeof(pid_t));

        cr_assert_not_null(holding);
        cr_assert_not(task_walk_result_holding(&r, 1), "an empty result names nobody");
        holding[0] = 7;
        holding[1] = 300;
        holding[2] = 4000;
        r.holding = holding;
        r.n_holding = 3;
        cr_assert(task_walk_result_holding(&r, 300));
        cr_assert(task_walk_result_holding(&r, 4000));
        cr_assert_not(task_walk_result_holding(&r, 301));
        task_walk_result_done(&r);
        cr_assert_null(r.holding);
        cr_assert_eq(r.n_holding, 0);
}

Test(task_walk, mounts_nothing_only_where_the_mount_walk_saw_all) {
        TaskWalkResult r = {};
        uint64_t *mounting = malloc(2 * sizeof(uint64_t));

        cr_assert_not_null(mounting);
        cr_assert_not(task_walk_result_mounts_nothing(&r, 4026531840),
                      "without a complete mount walk, every table must be read");
        mounting[0] = 4026531840;
        mounting[1] = 4026532500;
        r.mounting = mounting;
        r.n_mounting = 2;
        cr_assert_not(task_walk_result_mounts_nothing(&r, 4026532000), "an incomplete walk clears nothing");
        r.mounts_known = true;
        cr_assert(task_walk_result_mounts_nothing(&r, 4026532000));
        cr_assert_not(task_walk_result_mounts_nothing(&r, 4026531840));
        cr_assert_not(task_walk_result_mounts_nothing(&r, 4026532500));
        r.n_mounting = 0;
        cr_assert(task_walk_result_mounts_nothing(&r, 4026531840), "a complete walk that found none clears all");
        task_walk_result_done(&r);
        cr_assert_null(r.mounting);
        cr_assert_not(r.mounts_known);
}
