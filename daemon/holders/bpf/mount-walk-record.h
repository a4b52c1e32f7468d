/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0-only */
#pragma once

/* What the mount walk's BPF iterator writes, read by mount-walk-bpf.c.
 * Shared by the BPF program and user space: fixed-size types only. */

enum {
        MOUNT_WALK_DEVICE = 1,        /* a mount of a device asked about */
        MOUNT_WALK_PIN = 2,           /* an nsfs mount of a mount namespace */
        MOUNT_WALK_MAPPED = 3,        /* a file of a device asked about is mapped */
        MOUNT_WALK_DONE = 4,          /* last: every mount and inode was seen */
        MOUNT_WALK_INCOMPLETE = 5,    /* last otherwise: why, where, after how long */
};

/* INCOMPLETE's id: why (bits 0-3), the phase it was in (4-7: superblocks,
 * mounts, inodes), and the steps taken (from bit 8). */
enum {
        MOUNT_WALK_WHY_UNREADABLE = 1,  /* a read failed: a poisoned link */
        MOUNT_WALK_WHY_UNLINKED = 2,    /* a node unlinked under the walk */
        MOUNT_WALK_WHY_FULL = 3,        /* more records than one read takes */
        MOUNT_WALK_WHY_TOO_LONG = 4,    /* more steps than the bound */
};

/* One record per mount of either kind, one per device with a mapped file,
 * then DONE if the walk was complete. Without DONE (a list that changed
 * under the walk, more records than one read can take), what the records
 * say is partial; INCOMPLETE, if it fits, says why. */
struct mount_walk_record {
        __u32 kind;
        __u32 id;                     /* DEVICE, PIN: the inode of the mount's
                                       * namespace; MAPPED: the device */
};
