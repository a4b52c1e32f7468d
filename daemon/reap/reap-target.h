/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A process an action may hit, pinned by a pidfd before anything is read
 * about it, so a PID the kernel reused is never mistaken for the holder
 * and never signalled: every fact is confirmed by the pidfd still naming
 * a live process after it was read, and signals go through the pidfd. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "reap/reap-protect.h"

#define REAP_MAX_ANCESTORS 64

typedef struct ReapProcess {
        pid_t pid;
        int pidfd;
        unsigned flags;                 /* PF_* */
        uint64_t mntns;
        char *comm;
        char *unit;                     /* NULL: none */
        pid_t ancestors[REAP_MAX_ANCESTORS];
        size_t n_ancestors;
} ReapProcess;

void reap_process_done(ReapProcess *p);

/* pidfd_open(pid) first, then the facts. -ESRCH if it is gone. */
int reap_process_open(pid_t pid, ReapProcess *ret);
/* The same on a pidfd the caller opened for pid earlier (taken over, also
 * on failure): -ESRCH if that process has exited since, whoever has the
 * PID now. */
int reap_process_from_pidfd(int pidfd, pid_t pid, ReapProcess *ret);

/* Whether the pidfd's process is still alive (0) or gone (-ESRCH). */
int reap_process_alive(const ReapProcess *p);

/* Whether p ignores sig (SigIgn of /proc/PID/status): 1 yes, 0 no,
 * -ESRCH gone, another negative errno if /proc cannot say. */
int reap_process_ignores_signal(const ReapProcess *p, int sig);

/* The protection check's view of p. */
void reap_process_subject(const ReapProcess *p, ProtectSubject *ret);

/* Whether p still references dev: cwd, root, exe, an open file or a map on
 * its filesystem, the node itself open, or a mount of it in p's namespace.
 * 1 yes, 0 no, -ESRCH gone. */
int reap_process_references(const ReapProcess *p, dev_t dev);

/* The whole decision before a signal: protected → -EPERM ("refused (by
 * what)"); no longer holding dev → 0 ("skipped"); else sig through the
 * pidfd → 1. -ESRCH if the process is gone: nothing was sent. why gets a
 * short text in every case. */
int reap_process_signal_checked(const ReapProcess *p, const ProtectPolicy *policy, ReapAction action,
                                dev_t dev, int sig, char *why, size_t why_size);
