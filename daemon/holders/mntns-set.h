/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The set of mount namespaces a scan knows of, how each can be reached (a
 * member process, an open fd, an nsfs bind mount), and their mount tables:
 * it keeps reading tables until every namespace found, including those
 * only pinned by ones read before, has been read or found unreachable. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/holder-scan.h"
#include "holders/mount-table.h"
#include "holders/task-walk.h"

typedef struct MntnsInfo {
        uint64_t ino;
        uint64_t id;              /* 0 until known */
        const pid_t *members;     /* borrowed, sorted; may be empty */
        size_t n_members;
        pid_t fd_pid;             /* reachable as /proc/fd_pid/fd/fd_num */
        int fd_num;
        bool scanned;
        bool unreachable;
        MountTable table;
        HolderPin *pins;          /* bind mounts pinning it (fd pins are
                                   * added by the caller, who found them) */
        size_t n_pins;
        size_t n_pins_allocated;
} MntnsInfo;

typedef struct MntnsSet {
        MntnsInfo *ns;
        size_t n_ns;
        size_t n_ns_allocated;
        int proc_fd;
        dev_t dev;
        uint64_t self;
        const TaskWalkResult *walked;  /* borrowed, may be NULL: what the
                                        * kernel's mount walk says */
        unsigned n_scanned;
        unsigned n_unreachable;
        unsigned n_cleared;       /* scanned by the mount walk alone */
} MntnsSet;

void mntns_set_done(MntnsSet *s);
/* Index of ino in s, adding an empty entry if missing; -ENOMEM. */
int mntns_set_add(MntnsSet *s, uint64_t ino);
/* Index of ino, or -ENOENT. */
int mntns_set_find(const MntnsSet *s, uint64_t ino);

/* Reads every namespace's table through source (LISTMOUNT also walks the
 * kernel's list of namespaces first), following nsfs pins. A namespace
 * the kernel's mount walk showed to have none of the mounts looked for
 * counts as scanned, with an empty table, without reading it. */
int mntns_set_scan(MntnsSet *s, MountSource source);
