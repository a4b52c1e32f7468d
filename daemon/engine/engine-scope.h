/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine's cgroup of its own: a transient systemd scope, so that the
 * engine and its containers outlive a dmwardend that crashes, is killed or
 * is replaced. Talks to systemd on the system bus, synchronously and with a
 * short timeout, on a connection of its own opened for each use (only when
 * the engine starts or stops): one kept idle outside the event loop would
 * never finish authenticating, and the bus daemon drops it. */

#include <stdbool.h>
#include <sys/types.h>

/* How long a call to systemd, or the move of a PID into the scope, may take. */
#define ENGINE_SCOPE_TIMEOUT_USEC (5 * 1000 * 1000ULL)

/* "<our unit minus .service>-engine.scope" for the unit dmwardend runs in
 * (*ret_unit): dmwarden.service gets dmwarden-engine.scope. -ENXIO (with
 * *ret_why set) where there is no systemd, or dmwardend runs in no service
 * of its own. */
int engine_scope_name(char **ret_scope, char **ret_unit, const char **ret_why);

/* Puts pid into the scope: a new transient scope (Delegate=yes, ordered
 * before our_unit so that at shutdown dmwardend stops the engine before
 * systemd stops the scope), or the existing one should the last engine have
 * left processes in it. Returns once the kernel shows pid in the scope. */
int engine_scope_attach(const char *scope, const char *our_unit, pid_t pid);

/* SIGKILL to whatever the engine left behind in the scope (shims,
 * containers), as KillMode=mixed does to a service's leftovers; the empty
 * scope then ends by itself. No job, so nothing to order against a restart
 * of dmwardend's unit. A scope that is gone already is fine. */
int engine_scope_kill(const char *scope);

/* Whether pid runs in the scope, as its cgroup says (1 yes, 0 no). */
int engine_scope_contains(const char *scope, pid_t pid);
