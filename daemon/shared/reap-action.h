/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reap actions, least harmful first, and their names as the
 * configuration, the bus and dmwardenctl spell them. */

typedef enum ReapAction {
        REAP_REPORT,
        REAP_DETACH,
        REAP_RESTART_UNIT,
        REAP_KILL,
        _REAP_ACTION_MAX,
} ReapAction;

/* Indexed by ReapAction, NULL-terminated (the configuration's enum table). */
extern const char *const reap_action_names[_REAP_ACTION_MAX + 1];

const char *reap_action_to_string(ReapAction a);
/* -EINVAL for a name that is no action (NULL included). */
ReapAction reap_action_from_string(const char *s);
