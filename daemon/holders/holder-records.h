/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A HolderScan flattened into rows, one per reference, split into what the
 * engine's namespace holds and what everybody else holds. The device life
 * cycle reads the split; the bus sends the rows (D-Bus type
 * a(ussttbsst), see holder_record fields in order). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/holder-scan.h"

typedef struct HolderRecord {
        pid_t pid;              /* 0: no process (a mount in a process-less
                                 * namespace, a stacked device); for a pin
                                 * mount, a process of the namespace the
                                 * pin is in, 0 if dmwardend's own */
        char *comm;             /* "" if unknown */
        char *unit;             /* "" if none */
        uint64_t mntns;         /* inode of the namespace it is seen in; 0: none */
        uint64_t mount_id;      /* kind "mount": the mount's id; else 0 */
        bool root_member;       /* its parent is in another namespace */
        char *kind;             /* "mount", "fd", "device-node", "cwd", "root",
                                 * "exe", "map", "pin-mount", "pin-fd",
                                 * "stacked", "loop", "unexplained" */
        char *path;             /* mount point or file as seen inside its
                                 * namespace, or the stacked device's name */
        uint64_t tid;           /* the thread, when not the process itself */
} HolderRecord;

typedef struct HolderRecords {
        HolderRecord *rows;
        size_t n_rows;
        size_t n_rows_allocated;
} HolderRecords;

void holder_records_done(HolderRecords *r);

/* Splits s into the rows of engine_mntns (ret_engine, may be NULL) and the
 * rest (ret_others). Each namespace with mounts of the device gives one
 * "mount" row per mount point, attributed to its first root member (pid 0
 * if it has none); each process reference one row; each pin and stacked
 * holder one row, a pin mount's attributed to a process that sees it (pid
 * 0: dmwardend's namespace, or one without processes). Pure. */
int holder_records_from_scan(const HolderScan *s, uint64_t engine_mntns,
                             HolderRecords *ret_engine, HolderRecords *ret_others);

/* Whether two row lists say the same (same rows, same order). */
bool holder_records_equal(const HolderRecords *a, const HolderRecords *b);

/* Adds the row for references nobody could be found for: the kernel
 * counts open_count opens that no scan explains (a process that could not
 * be inspected, or a kernel-internal user). */
int holder_records_add_unexplained(HolderRecords *r, unsigned open_count, unsigned inaccessible);
