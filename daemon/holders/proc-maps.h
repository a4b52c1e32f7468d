/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The files a process has mapped from one device: asked of the kernel VMA
 * by VMA (PROCMAP_QUERY, Linux 6.11+), which formats no path but for the
 * mappings that match, else parsed from the /proc/PID/maps text. */

#include <sys/types.h>

/* The distinct paths of pid's file mappings on dev, a NULL-terminated
 * array (possibly empty). */
int proc_maps_paths(int proc_fd, pid_t pid, dev_t dev, char ***ret);
