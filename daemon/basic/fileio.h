/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading small kernel files (procfs, sysfs) relative to a directory fd, so
 * callers can point them at a fixture tree instead of the real /proc. */

#include <stddef.h>

/* Reads all of path (relative to dir_fd, or absolute) into a NUL-terminated
 * buffer; *ret_size (optional) excludes the NUL. Files larger than max_size
 * give -EFBIG. procfs files report size 0, so this reads until EOF. */
int read_full_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size);

/* The same from an open fd, from its current offset to EOF. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);

/* The first line of path without its newline (the rest is ignored). */
int read_line_at(int dir_fd, const char *path, char **ret);

/* readlinkat() into a newly allocated string of any length. */
int readlink_malloc_at(int dir_fd, const char *path, char **ret);
