/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine of watch-only mode: a process dmwardend did not start, whose
 * mount namespace is the engine namespace. PID 1 when no PID file is set
 * (docker.service and containerd.service run their engines there), else
 * the process the PID file names, followed across restarts: a pidfd tells
 * when it exits, at once the engine namespace is forgotten (nothing of
 * the old one is kept open, and its PID protects nobody who reuses it),
 * and the PID file is read again every second until it names a running
 * process that started no later than the file was written (a stale file
 * naming a reused PID is not believed). */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"

typedef struct EngineWatched EngineWatched;

/* Called whenever the process, and so the namespace, changed (also to none). */
typedef void (*EngineWatchedChanged)(EngineWatched *w, void *userdata);

/* pid_file NULL or empty: PID 1, for good. */
int engine_watched_new(sd_event *event, const char *pid_file, EngineWatchedChanged changed, void *userdata,
                       EngineWatched **ret);
EngineWatched *engine_watched_free(EngineWatched *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(EngineWatched *, engine_watched_free);

/* Finds the process. Without a PID file, failing to read PID 1's namespace
 * is an error; with one, a file that names no running process is logged
 * and looked at again every second. */
int engine_watched_start(EngineWatched *w);

/* The process and its mount namespace; 0 and 0 while there is none. */
pid_t engine_watched_pid(const EngineWatched *w);
uint64_t engine_watched_namespace(const EngineWatched *w);
