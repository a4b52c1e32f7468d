/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "basic/macro.h"
#include "shared/reap-action.h"

const char *const reap_action_names[_REAP_ACTION_MAX + 1] = {
        [REAP_REPORT] = "report",
        [REAP_DETACH] = "detach",
        [REAP_RESTART_UNIT] = "restart-unit",
        [REAP_KILL] = "kill",
        NULL,
};

DEFINE_ENUM_TO_STRING(reap_action, ReapAction, reap_action_names, _REAP_ACTION_MAX);

ReapAction reap_action_from_string(const char *s) {
        for (int i = 0; s && i < _REAP_ACTION_MAX; i++)
                if (streq(reap_action_names[i], s))
                        return (ReapAction) i;
        return -EINVAL;
}
