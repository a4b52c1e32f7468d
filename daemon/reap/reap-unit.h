/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Restart-unit: asks systemd over the system bus to restart a holder's
 * unit (RestartUnit(unit, "replace")), asynchronously on the event loop.
 * Without systemd on the bus it fails with an error that says so. */

#include <systemd/sd-event.h>

#include "basic/macro.h"

typedef struct ReapUnitCall ReapUnitCall;

/* error: 0 once systemd queued the restart job, else negative errno;
 * message says what happened either way. */
typedef void (*ReapUnitDone)(int error, const char *message, void *userdata);

/* Fails at once (negative errno, *ret_message set) when the system bus
 * cannot be reached; else done is called later, unless the call is freed
 * first. */
int reap_unit_restart(sd_event *event, const char *unit, ReapUnitDone done, void *userdata, ReapUnitCall **ret,
                      char **ret_message);
ReapUnitCall *reap_unit_call_free(ReapUnitCall *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReapUnitCall *, reap_unit_call_free);
