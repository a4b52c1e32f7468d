/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A holder scan with a deadline. Some steps of a scan can wait on others
 * without limit: a path walk through a FUSE or NFS mount whose server
 * hangs (on the way to a namespace pin), LOOP_GET_STATUS64 (it stats the
 * backing file), a process's maps (its mmap_lock). So the scan runs in a
 * thread of its own; when it has not finished by the deadline the caller
 * gets -ETIMEDOUT and goes on, and the thread is abandoned: it frees its
 * own result whenever the kernel lets it finish (often never, until the
 * server is gone). A ScanLimit caps how many abandoned threads may be
 * outstanding; beyond it no scan is started (-EBUSY), so a node whose
 * FUSE server hung cannot collect threads without end. */

#include "basic/macro.h"
#include "basic/time-util.h"
#include "holders/holder-scan.h"

typedef struct ScanLimit ScanLimit;

/* max_stalled: abandoned scans allowed at once (at least 1). */
int scan_limit_new(unsigned max_stalled, ScanLimit **ret);
/* The limit stays alive while an abandoned scan still runs. */
ScanLimit *scan_limit_unref(ScanLimit *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScanLimit *, scan_limit_unref);
/* Abandoned scans that have not finished yet. */
unsigned scan_limit_stalled(ScanLimit *l);
/* For other ways of running a scan with a deadline (watch/scan-worker.h):
 * whether no scan may start now, and counting one abandoned scan in and,
 * once its thread ends, out again. Safe from any thread. */
ScanLimit *scan_limit_ref(ScanLimit *l);
bool scan_limit_full(ScanLimit *l);
void scan_limit_stall(ScanLimit *l);
void scan_limit_unstall(ScanLimit *l);

/* holder_scan_for_open_count() with a deadline. Returns what it returns;
 * -ETIMEDOUT when it did not finish within timeout (abandoned, counted in
 * limit until it ends); -EBUSY, without scanning, while limit's abandoned
 * scans are at its maximum; -EAGAIN when no thread could be made. */
int holder_scan_bounded(const HolderScanOptions *o, unsigned open_count, usec_t timeout, ScanLimit *limit,
                        HolderScan **ret);
