/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by the unit tests: fixture paths and scratch dirs. */

#include <stddef.h>

/* tests/data/<sub>/<name>, from $DMWARDEN_TEST_DATA (set by meson). */
void test_data_path(char *buf, size_t size, const char *sub, const char *name);
/* That directory open (O_DIRECTORY), as a fixture /proc or /sys tree. */
int test_open_data_dir(const char *sub, const char *name);
/* A fresh directory under $TMPDIR or /tmp. */
void test_make_tmpdir(char *buf, size_t size);
void test_write_file(const char *path, const char *contents);
void test_remove_tree(const char *dir);
