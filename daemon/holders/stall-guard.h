/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The steps of holder scans that are under way: a process's files, a loop
 * device's status. A step that a scan began and has not come back from
 * for longer than a grace time is stalled: a FUSE or NFS server that does
 * not answer, an mmap_lock held for good. A later scan skips it (and says
 * so) instead of stalling on it too, so one hung server costs one thread
 * and one step, not every scan after it. Shared by the scans and the
 * threads a bounded scan abandoned, so reference-counted and locked. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "basic/time-util.h"

typedef struct StallGuard StallGuard;

/* Step keys: a process by its PID, a loop device by its number. */
#define STALL_KEY_PROCESS(pid) ((uint64_t) (uint32_t) (pid))
#define STALL_KEY_BLOCK(dev) ((UINT64_C(1) << 63) | (uint64_t) (dev))

/* grace: how long a step may be under way before others skip it. */
int stall_guard_new(usec_t grace, StallGuard **ret);
StallGuard *stall_guard_ref(StallGuard *g);
StallGuard *stall_guard_unref(StallGuard *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(StallGuard *, stall_guard_unref);

/* Marks step key as under way (once more). -EBUSY, marking nothing, when
 * it has been under way for longer than the grace time; -ENOMEM. A NULL
 * guard allows everything. */
int stall_guard_enter(StallGuard *g, uint64_t key);
/* The step came back (it must have been entered). */
void stall_guard_leave(StallGuard *g, uint64_t key);
/* Steps under way for longer than the grace time. */
size_t stall_guard_stalled(StallGuard *g);
