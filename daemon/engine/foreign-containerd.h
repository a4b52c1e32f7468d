/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Finds containerd daemons that live outside the engine's process tree and
 * mount namespace: the sign of an engine attached to a system containerd,
 * whose mounts the engine namespace would never see. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ForeignProcess {
        pid_t pid;
        uint64_t mntns;
} ForeignProcess;

/* Scans the /proc tree at proc_fd for processes named "containerd" that are
 * not in mount namespace engine_ns and have no ancestor that is engine_pid or
 * in engine_ns (a containerd in a container of the engine is the engine's
 * business). Processes that vanish meanwhile are skipped. */
int foreign_containerd_find(int proc_fd, uint64_t engine_ns, pid_t engine_pid, ForeignProcess **ret,
                            size_t *ret_n);
