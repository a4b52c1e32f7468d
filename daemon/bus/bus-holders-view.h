/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a caller may see of the holders of a device: what /proc would show
 * it. Anyone may read mount tables, comm and cgroup of any process, so
 * mounts, pins by mount, stacked devices, comms and units are shown to
 * all. A process's cwd, root, exe, open files and maps are hidden by /proc
 * from other users (ptrace access), so their paths are shown only to root
 * and to a caller whose UID is the process's real, effective and saved
 * UID; others get an empty path. Signals reach anyone: they show what
 * anyone may see. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "holders/holder-records.h"

typedef struct HolderViewer {
        bool all;       /* root: everything */
        uid_t uid;
} HolderViewer;

/* Anyone: what every user may see. */
#define HOLDER_VIEWER_ANYONE ((HolderViewer) { .all = false, .uid = (uid_t) -1 })

/* The sender of m (NULL: anyone). Without its credentials, anyone. */
HolderViewer holder_viewer_of_message(sd_bus_message *m);

/* Whether v may see h's path; proc_fd is /proc (or a fixture tree). */
bool holder_path_visible(const HolderViewer *v, int proc_fd, const HolderRecord *h);
