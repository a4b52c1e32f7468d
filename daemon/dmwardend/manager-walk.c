/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's task walk: the BPF programs holder scans find processes
 * with, loaded once at start-up as [Watch] ProcessWalk= says and kept for
 * the daemon's life, or why there are none. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "dmwardend/manager.h"

static int set_unavailable(Manager *m, const char *why) {
        char *copy = strdup(why);

        if (!copy)
                return log_oom();
        free(m->walk_unavailable);
        m->walk_unavailable = copy;
        return 0;
}

int manager_load_walk(Manager *m) {
        _cleanup_free_ char *reason = NULL;
        int r;

        m->walk = m->config->process_walk;
        if (m->walk == HOLDER_WALK_PROC) {
                log_info("Holder scans read every process in /proc (ProcessWalk=proc).");
                return set_unavailable(m, "disabled by ProcessWalk=proc");
        }
        r = task_walk_open(&m->task_walk, &reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0 && !reason) {
                reason = strdup(strerror(-r));
                if (!reason)
                        return log_oom();
        }
        if (r < 0 && m->walk == HOLDER_WALK_BPF)
                return log_error_errno(r, "Refusing to start: ProcessWalk=bpf, but the BPF task walk cannot be "
                                          "loaded: %s.", reason);
        if (r < 0) {
                log_info("Holder scans read every process in /proc: the BPF task walk cannot be loaded (%s).",
                         reason);
                return set_unavailable(m, reason);
        }
        log_info("Holder scans find processes with the BPF task walk (ProcessWalk=%s), %s.",
                 holder_walk_to_string(m->walk),
                 task_walk_walks_mounts(m->task_walk)
                         ? "and the namespaces with mounts to read with the BPF mount walk"
                         : "and read every mount namespace's table (no BPF mount walk before Linux 5.17)");
        return set_unavailable(m, "");
}

void manager_walk_reloaded(Manager *m, const Config *config) {
        if (config->process_walk != m->config->process_walk)
                log_notice("ProcessWalk=%s applies from the next start; scans go on as they were.",
                           holder_walk_to_string(config->process_walk));
}

void manager_walk_done(Manager *m) {
        /* Scans abandoned at their deadline hold references of their own:
         * the programs stay loaded until the last of them lets go. */
        m->task_walk = task_walk_unref(m->task_walk);
        free(m->walk_unavailable);
        m->walk_unavailable = NULL;
}
