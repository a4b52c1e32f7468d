/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One round of an action against a device's holders: a detach per mount
 * namespace with mounts of it, or a kill or restart per holding process
 * (unit); each checked against the protection rules first, run
 * asynchronously on the event loop, and told one by one. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "holders/holder-records.h"
#include "reap/reap-protect.h"

typedef struct ReapJob ReapJob;

typedef struct ReapOutcome {
        const HolderRecord *holder;     /* whom it was about */
        const char *action;             /* "detach", "kill", "restart-unit" */
        int error;                      /* 0; -EPERM: refused by protection */
        bool reaped;                    /* the holder let go because of us */
        const char *result;             /* "ok: ...", "refused (...)", ... */
} ReapOutcome;

typedef void (*ReapJobOpDone)(ReapJob *j, const ReapOutcome *o, void *userdata);
/* Every op ended; called from the loop, never from inside reap_job_start(). */
typedef void (*ReapJobDone)(ReapJob *j, void *userdata);

typedef struct ReapJobParams {
        sd_event *event;
        dev_t dev;
        ReapAction action;              /* detach, kill or restart-unit */
        usec_t grace_usec;              /* kill: SIGTERM to SIGKILL */
        const ProtectPolicy *policy;    /* copied */
        ReapJobOpDone op_done;
        ReapJobDone done;
        void *userdata;
} ReapJobParams;

/* Plans the ops from holders (copied) and starts them. Returns how many ops
 * there are (0: nothing this action can act on; done still follows). */
int reap_job_start(const ReapJobParams *p, const HolderRecords *holders, ReapJob **ret);
/* Tells (op_done) the outcome of every op whose process already exited
 * but whose exit the loop has not dispatched yet: the device may go away
 * (and the job with it) before the loop gets there, and what was done is
 * told all the same. Never waits; ops still running go on. */
void reap_job_flush(ReapJob *j);
/* Cancels what still runs (a detach helper is killed; signals already
 * sent stay sent). */
ReapJob *reap_job_free(ReapJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReapJob *, reap_job_free);
