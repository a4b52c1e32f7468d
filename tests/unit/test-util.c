/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test-util.h"

void test_data_path(char *buf, size_t size, const char *sub, const char *name) {
        const char *root = getenv("DMWARDEN_TEST_DATA");

        cr_assert_not_null(root, "DMWARDEN_TEST_DATA is not set; run the tests through meson");
        snprintf(buf, size, "%s/%s/%s", root, sub, name);
}

int test_open_data_dir(const char *sub, const char *name) {
        char path[PATH_MAX];
        int fd;

        test_data_path(path, sizeof(path), sub, name);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(fd, 0, "cannot open %s", path);
        return fd;
}

void test_make_tmpdir(char *buf, size_t size) {
        const char *tmp = getenv("TMPDIR");

        snprintf(buf, size, "%s/dmwarden-test-XXXXXX", tmp ? tmp : "/tmp");
        cr_assert_not_null(mkdtemp(buf), "mkdtemp failed");
}

void test_write_file(const char *path, const char *contents) {
        FILE *f = fopen(path, "we");

        cr_assert_not_null(f, "cannot create %s", path);
        cr_assert_geq(fputs(contents, f), 0);
        cr_assert_eq(fclose(f), 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void test_remove_tree(const char *dir) {
        (void) nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
