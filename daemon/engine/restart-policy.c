/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine/restart-policy.h"

bool restart_wanted(RestartMode mode, bool failed, bool requested) {
        if (requested)
                return false;
        switch (mode) {
        case RESTART_ALWAYS:
                return true;
        case RESTART_ON_FAILURE:
                return failed;
        default:
                return false;
        }
}

usec_t restart_delay(usec_t base, unsigned failures_in_row) {
        usec_t cap = base > RESTART_DELAY_MAX ? base : RESTART_DELAY_MAX;
        usec_t delay = base;

        for (unsigned i = 1; i < failures_in_row && delay < cap; i++)
                delay = delay > cap / 2 ? cap : delay * 2;
        return delay < cap ? delay : cap;
}

bool start_limit_allow(StartLimit *l, usec_t now, usec_t interval, unsigned burst) {
        if (burst == 0 || interval == 0)
                return true; /* no limit configured */
        if (l->count == 0 || now < l->interval_begin || now - l->interval_begin >= interval) {
                l->interval_begin = now;
                l->count = 0;
        }
        l->count++;
        return l->count <= burst;
}
