/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Starting the engine process: fork, a new mount namespace, the namespace
 * pinned for operators, inherited sockets and NOTIFY_SOCKET, then exec. The
 * engine does not die with dmwardend: it is meant to outlive it. */

#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"

typedef struct SpawnParams {
        char *const *argv;
        Propagation propagation;
        const char *notify_socket;      /* NOTIFY_SOCKET for the engine; NULL: none */
        const int *listen_fds;          /* passed on as fds 3.. with LISTEN_* set */
        size_t n_listen_fds;
        const char *listen_fdnames;     /* LISTEN_FDNAMES, NULL: unset */
        const char *pin_path;           /* where to pin the new namespace; NULL: don't */
        /* Called once the child is in its namespace and pinned, before it
         * execs (so before the engine can fork anything): to move it into a
         * cgroup of its own. Not a reason to fail the spawn. */
        void (*before_exec)(pid_t pid, void *userdata);
        void *userdata;
} SpawnParams;

/* Returns once the engine has been exec'd (0, *ret_pid set) or could not be
 * (negative errno, the child reaped, and reason says which step failed). */
int engine_spawn(const SpawnParams *p, pid_t *ret_pid, char *reason, size_t reason_size);
