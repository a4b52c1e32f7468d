/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test worlds on real block devices: a sparse file with an ext4 filesystem
 * behind a loop device that detaches itself once nothing uses it. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct TestLoop {
        char backing[64];   /* the sparse image file */
        char node[32];      /* /dev/loopN */
        int fd;             /* open on node; closing it lets autoclear detach */
        dev_t devnum;
} TestLoop;

/* Creates an ext4 image of size_mib MiB and attaches it. */
void test_loop_new(TestLoop *l, unsigned size_mib);
/* Drops our reference and removes the image; the kernel detaches the loop
 * device when its last user (a mount, a holder) is gone. */
void test_loop_release(TestLoop *l);

/* Whether any line of the mountinfo at path mounts devnum. */
bool mountinfo_has_device(const char *path, dev_t devnum);
/* Polls until the block device can be opened exclusively (no mount or other
 * exclusive user left) or timeout_ms passes; returns whether it could. */
bool wait_device_free(const char *node, unsigned timeout_ms);
