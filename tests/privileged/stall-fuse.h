/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A FUSE server for tests that answers until told to stall, then never
 * answers again: what a hung FUSE (or NFS) server does to whoever walks a
 * path through it. Its tree is fixed: the root, a directory "d", and in it
 * a regular file "pin" (something to bind-mount a namespace on), and
 * "img", a 1 MiB file of zeros (something to back a loop device). Nothing
 * is cached (entry and attribute timeouts of 0), so every path walk asks
 * the server again. Speaks the kernel's protocol on /dev/fuse itself. */

#include <sys/types.h>

typedef struct StallFuse {
        int dev_fd;          /* /dev/fuse, until stall_fuse_mount() */
        pid_t server;
        int control_fd;      /* a byte stalls the server */
} StallFuse;

/* Opens /dev/fuse and forks the server. */
int stall_fuse_start(StallFuse *f);
/* Mounts the server at dir, in the caller's namespace (for a child that
 * forked after stall_fuse_start()). Returns 0 or -errno. */
int stall_fuse_mount(const StallFuse *f, const char *dir);
/* From now on the server answers nothing. */
void stall_fuse_stall(StallFuse *f);
/* Kills the server: every request waiting on it fails (ENOTCONN). */
void stall_fuse_stop(StallFuse *f);
