/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mountinfo side of MountTable: the text of /proc/PID/mountinfo, which
 * every kernel has, parsed into a table, and read from a process or from a
 * mount namespace no process is in. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/mount-table.h"

/* Splitting the text: the one place that knows how a line reads,
 * "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
 * with blanks inside a field escaped (\040). Linear in the text: no sscanf(),
 * which measures the whole rest of its input on every call (a 20,000-line
 * table took a second that way). */

/* The next line of [*p, end), without its newline, advancing *p past it;
 * false once the text is used up. The last line needs no newline. */
bool mountinfo_next_line(const char **p, const char *end, const char **ret_line, size_t *ret_size);

/* The head of a line, "ID PARENT MAJ:MIN " as the kernel writes it: decimal
 * numbers of at most 32 bits and a blank after each. The mount's id
 * (ret_id may be NULL) and its device; -EBADMSG if the line does not start
 * so, also if it ends right after the device. */
int mountinfo_parse_head(const char *line, size_t size, uint64_t *ret_id, dev_t *ret_dev);

/* Parses mountinfo text, keeping the mounts of dev and every nsfs mount of a
 * mount namespace (those pin namespaces); everything else is skipped by its
 * head, unparsed, and libmount reads the fields of the rest. Pure: no I/O.
 * A line that does not read is skipped. */
int mount_table_parse_mountinfo(const char *buf, size_t size, dev_t dev, MountTable *t);

/* The same from /proc/PID/mountinfo below proc_fd (see proc_read_file()). */
int mount_table_read_mountinfo(int proc_fd, pid_t pid, dev_t dev, MountTable *t);

/* The table of a namespace no process is in: a short-lived child joins it
 * and sends back its mountinfo. */
int mount_table_read_setns(int mntns_fd, dev_t dev, MountTable *t);
