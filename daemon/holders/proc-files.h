/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One process's references to a device, found by device number: files,
 * cwd, root, exe and mappings on its filesystem, or the node itself open;
 * plus the mount namespaces it holds open (they may hold mounts). */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/holder-scan.h"

typedef struct ProcNsFd {
        pid_t pid;
        int fd;
        uint64_t mntns;
} ProcNsFd;

typedef struct ProcFiles {
        HolderRef *refs;
        size_t n_refs;
        size_t n_refs_allocated;
        ProcNsFd *ns_fds;
        size_t n_ns_fds;
        size_t n_ns_fds_allocated;
} ProcFiles;

/* Adds what process pid has to *f. nsfs_dev is the device of nsfs (0: do
 * not look for namespace fds). Returns 0, or a negative errno for the
 * process as a whole: -EACCES/-EPERM not allowed, -ENOENT gone. Files that
 * close while we look are skipped. */
int proc_files_scan(int proc_fd, pid_t pid, dev_t dev, dev_t nsfs_dev, ProcFiles *f);

/* What thread tid of process pid holds that the process does not: its cwd
 * and root where they are on dev's filesystem and not the process's (a
 * thread made without CLONE_FS, or that called unshare(CLONE_FS) or
 * unshare(CLONE_NEWNS)), and the files of an fd table of its own
 * (unshare(CLONE_FILES)); tagged with tid. A thread that is gone or cannot
 * be read adds nothing. */
int proc_files_scan_thread(int proc_fd, pid_t pid, pid_t tid, dev_t dev, dev_t nsfs_dev, ProcFiles *f);

/* Moves every reference and namespace fd of src to dst. */
int proc_files_move(ProcFiles *dst, ProcFiles *src);

void holder_ref_done(HolderRef *r);
void proc_files_done(ProcFiles *f);
