/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mountinfo side of MountTable: the text of /proc/PID/mountinfo, which
 * every kernel has, parsed into a table, and read from a process or from a
 * mount namespace no process is in. */

#include <stddef.h>
#include <sys/types.h>

#include "holders/mount-table.h"

/* Parses mountinfo text, keeping the mounts of dev and every nsfs mount of a
 * mount namespace (those pin namespaces); everything else is skipped
 * unparsed. Pure: no I/O. */
int mount_table_parse_mountinfo(const char *buf, size_t size, dev_t dev, MountTable *t);

/* The same from a mountinfo file, path relative to dir_fd ("PID/mountinfo"
 * under a /proc fd). */
int mount_table_read_mountinfo(int dir_fd, const char *path, dev_t dev, MountTable *t);

/* The table of a namespace no process is in: a short-lived child joins it
 * and sends back its mountinfo. */
int mount_table_read_setns(int mntns_fd, dev_t dev, MountTable *t);
