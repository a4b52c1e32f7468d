/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A scan with a deadline: on the fixture /proc it answers as the plain scan
 * does; on a /proc whose mountinfo is a FIFO nobody writes (the way a hung
 * FUSE server makes an open or a stat wait), it is abandoned at the
 * deadline, counted as stalled, refused beyond the limit, and counted out
 * again once the kernel lets it finish. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/time-util.h"
#include "holders/holder-scan-bounded.h"
#include "test-util.h"

#define DEADLINE_USEC (200 * USEC_PER_MSEC)

static HolderScanOptions fixture_options(char *proc, char *sys) {
        test_data_path(proc, PATH_MAX, "holders", "proc");
        test_data_path(sys, PATH_MAX, "holders", "sys");
        return (HolderScanOptions) {
                .dev = makedev(253, 7),
                .source = MOUNT_SOURCE_MOUNTINFO,
                .proc_root = proc,
                .sys_root = sys,
        };
}

Test(holder_scan_bounded, answers_as_the_plain_scan_does) {
        char proc[PATH_MAX], sys[PATH_MAX];
        HolderScanOptions o = fixture_options(proc, sys);
        _cleanup_(scan_limit_unrefp) ScanLimit *limit = NULL;
        _cleanup_(holder_scan_freep) HolderScan *plain = NULL, *bounded = NULL;

        cr_assert_eq(scan_limit_new(1, &limit), 0);
        cr_assert_eq(holder_scan(&o, &plain), 0);
        cr_assert_eq(holder_scan_bounded(&o, 0, 10 * USEC_PER_SEC, limit, &bounded), 0);
        cr_assert_eq(bounded->n_namespaces, plain->n_namespaces);
        cr_assert_eq(bounded->n_processes, plain->n_processes);
        cr_assert_eq(bounded->n_stacked, plain->n_stacked);
        cr_assert_eq(scan_limit_stalled(limit), 0);
}

Test(holder_scan_bounded, no_deadline_waits_for_the_answer) {
        char proc[PATH_MAX], sys[PATH_MAX];
        HolderScanOptions o = fixture_options(proc, sys);
        _cleanup_(scan_limit_unrefp) ScanLimit *limit = NULL;
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;

        cr_assert_eq(scan_limit_new(1, &limit), 0);
        cr_assert_eq(holder_scan_bounded(&o, 0, USEC_INFINITY, limit, &s), 0);
        cr_assert_not_null(s);
}

/* A /proc with one process, 100, whose mountinfo is a FIFO. */
static void make_stalling_proc(char *dir, size_t size, char *fifo, size_t fifo_size) {
        char path[PATH_MAX];

        test_make_tmpdir(dir, size);
        snprintf(path, sizeof(path), "%s/100", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/100/ns", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/100/ns/mnt", dir);
        cr_assert_eq(symlink("mnt:[4026531840]", path), 0);
        snprintf(path, sizeof(path), "%s/self", dir);
        cr_assert_eq(symlink("100", path), 0);
        snprintf(fifo, fifo_size, "%s/100/mountinfo", dir);
        cr_assert_eq(mkfifo(fifo, 0600), 0);
}

static bool wait_stalled(ScanLimit *limit, unsigned n, usec_t timeout) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + timeout;

        while (scan_limit_stalled(limit) != n) {
                if (now_usec(CLOCK_MONOTONIC) > end)
                        return false;
                usleep(10 * 1000);
        }
        return true;
}

Test(holder_scan_bounded, a_stalled_scan_is_abandoned_limited_and_let_go) {
        char proc[PATH_MAX], fifo[PATH_MAX + 16], sys[PATH_MAX];
        HolderScanOptions o = fixture_options(proc, sys);
        _cleanup_(scan_limit_unrefp) ScanLimit *limit = NULL;
        HolderScan *s = NULL;
        usec_t t0, took;
        int fd;

        make_stalling_proc(proc, sizeof(proc), fifo, sizeof(fifo));
        cr_assert_eq(scan_limit_new(1, &limit), 0);

        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(holder_scan_bounded(&o, 0, DEADLINE_USEC, limit, &s), -ETIMEDOUT);
        took = now_usec(CLOCK_MONOTONIC) - t0;
        cr_assert_null(s);
        cr_assert_geq(took, DEADLINE_USEC, "returned before the deadline");
        cr_assert_lt(took, 5 * USEC_PER_SEC, "took %llu us, far past the deadline", (unsigned long long) took);
        cr_assert_eq(scan_limit_stalled(limit), 1);

        /* At the limit nothing more is started, however quick it would be. */
        cr_assert_eq(holder_scan_bounded(&o, 0, DEADLINE_USEC, limit, &s), -EBUSY);

        /* The opener of the FIFO is let through: the scan ends, counts itself
         * out and frees what it made (the sanitizer builds check that). */
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        cr_assert_geq(fd, 0, "no scan waits on %s: %s", fifo, strerror(errno));
        close(fd);
        cr_assert(wait_stalled(limit, 0, 10 * USEC_PER_SEC), "the abandoned scan never counted itself out");

        test_remove_tree(proc);
}
