/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Holder scans off the event loop. A batch of scans runs in a thread of
 * its own; each finished scan comes back to the loop through an eventfd
 * and is handed over there, so the loop never waits for one. A batch
 * that makes no progress for its timeout is abandoned (counted in the
 * ScanLimit until its thread ends, which may be never) and the loop is
 * told at once. The thread sees only copies: the requests in, the scans
 * out, and a lock around the hand-over. */

#include <stddef.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "holders/holder-scan-bounded.h"
#include "holders/holder-scan.h"

typedef struct ScanBatch ScanBatch;

typedef struct ScanRequest {
        HolderScanOptions options;   /* copied, roots and all */
        unsigned open_count;         /* as holder_scan_for_open_count() takes it */
} ScanRequest;

typedef struct ScanBatchOps {
        /* Scan i of the batch finished: r as holder_scan_for_open_count()
         * returns it, scan (yours) on success. */
        void (*result)(ScanBatch *b, size_t i, int r, HolderScan *scan, void *userdata);
        /* The batch ended: r 0 when every scan came back, -ETIMEDOUT when
         * scan `stalled` took longer than the timeout (it and those after
         * it never report). The batch may be freed from here. */
        void (*done)(ScanBatch *b, int r, size_t stalled, void *userdata);
} ScanBatchOps;

/* Starts n scans (n > 0) in a new thread; returns at once. timeout is per
 * scan (USEC_INFINITY: none). -EBUSY while limit's abandoned scans are at
 * its maximum, -EAGAIN when no thread could be made, -ENOMEM. */
int scan_batch_start(sd_event *event, const ScanRequest *requests, size_t n, usec_t timeout, ScanLimit *limit,
                     const ScanBatchOps *ops, void *userdata, ScanBatch **ret);
/* Walks over /proc the batch made so far: one for the mounts of every
 * device, and one for the files of each device whose open count its
 * mounts do not explain. */
unsigned scan_batch_walks(ScanBatch *b);
/* Lets go of the batch: a thread still running is abandoned, as at the
 * deadline, and no callback is called again. */
ScanBatch *scan_batch_free(ScanBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScanBatch *, scan_batch_free);
