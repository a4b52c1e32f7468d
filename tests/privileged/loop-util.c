/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "loop-util.h"

static void make_ext4_image(const char *path, unsigned size_mib) {
        char cmd[256];
        int fd;

        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0, "cannot create %s: %s", path, strerror(errno));
        cr_assert_eq(ftruncate(fd, (off_t) size_mib << 20), 0);
        close(fd);

        snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1", path);
        cr_assert_eq(system(cmd), 0, "mkfs.ext4 failed on %s", path);
}

void test_loop_new(TestLoop *l, unsigned size_mib) {
        struct loop_config config = { .info.lo_flags = LO_FLAGS_AUTOCLEAR };
        struct stat st;
        int control, backing, n;

        snprintf(l->backing, sizeof(l->backing), "/tmp/dmwarden-loop-XXXXXX");
        backing = mkstemp(l->backing);
        cr_assert_geq(backing, 0);
        close(backing);
        unlink(l->backing);
        make_ext4_image(l->backing, size_mib);

        backing = open(l->backing, O_RDWR | O_CLOEXEC);
        cr_assert_geq(backing, 0);
        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        cr_assert_geq(control, 0, "no /dev/loop-control: %s", strerror(errno));

        /* Another process may grab the free device first; try again then. */
        for (int attempt = 0;; attempt++) {
                n = ioctl(control, LOOP_CTL_GET_FREE);
                cr_assert_geq(n, 0, "LOOP_CTL_GET_FREE: %s", strerror(errno));
                snprintf(l->node, sizeof(l->node), "/dev/loop%d", n);
                l->fd = open(l->node, O_RDWR | O_CLOEXEC);
                cr_assert_geq(l->fd, 0, "cannot open %s: %s", l->node, strerror(errno));
                config.fd = (unsigned) backing;
                if (ioctl(l->fd, LOOP_CONFIGURE, &config) == 0)
                        break;
                cr_assert(errno == EBUSY && attempt < 10, "LOOP_CONFIGURE on %s: %s", l->node, strerror(errno));
                close(l->fd);
        }
        close(control);
        close(backing);

        cr_assert_eq(fstat(l->fd, &st), 0);
        l->devnum = st.st_rdev;
}

void test_loop_release(TestLoop *l) {
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
        if (l->backing[0])
                unlink(l->backing);
}

bool mountinfo_has_device(const char *path, dev_t devnum) {
        char line[4096], needle[32];
        bool found = false;
        FILE *f;

        f = fopen(path, "re");
        cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
        snprintf(needle, sizeof(needle), " %u:%u ", major(devnum), minor(devnum));
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

bool wait_device_free(const char *node, unsigned timeout_ms) {
        struct timespec step = { .tv_nsec = 10 * 1000 * 1000 };

        for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
                int fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC);

                if (fd >= 0) {
                        close(fd);
                        return true;
                }
                cr_assert_eq(errno, EBUSY, "open(%s, O_EXCL): %s", node, strerror(errno));
                nanosleep(&step, NULL);
        }
        return false;
}
