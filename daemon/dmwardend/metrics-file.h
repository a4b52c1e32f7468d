/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Writes dmwarden.prom into node_exporter's textfile directory, atomically
 * (a new file beside it, fsync, rename over the old one: a scrape sees the
 * old or the new file, never half of one), in a thread of its own: an
 * fsync or a directory on a slow disk must not hold the event loop. One
 * write at a time; a tick that finds one still running is skipped. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

#define METRICS_FILE_NAME "dmwarden.prom"

typedef struct MetricsFile MetricsFile;

int metrics_file_new(MetricsFile **ret);
/* The thread of a running write keeps what it needs; it ends on its own. */
MetricsFile *metrics_file_unref(MetricsFile *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsFile *, metrics_file_unref);

/* Starts writing text into dir; takes text. -EBUSY if the last write is
 * still running. */
int metrics_file_write_async(MetricsFile *m, const char *dir, char *text);
/* The result of the last finished write (0, or a negative errno), and
 * whether it changed since the last call: so the loop logs each change
 * once. */
int metrics_file_last_result(MetricsFile *m, bool *ret_changed);

/* The write itself, synchronous: for the thread and for tests. */
int metrics_file_write(const char *dir, const char *text, size_t size);
