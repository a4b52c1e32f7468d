/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus/bus-holders-view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/strv.h"
#include "holders/proc-util.h"

HolderViewer holder_viewer_of_message(sd_bus_message *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (!m || sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
            sd_bus_creds_get_euid(creds, &uid) < 0)
                return HOLDER_VIEWER_ANYONE;
        return (HolderViewer) { .all = uid == 0, .uid = uid };
}

/* Paths every user can read anyway: mount tables, sysfs. */
static bool kind_is_public(const char *kind) {
        return strv_contains((char *const[]) { (char *) "mount", (char *) "pin-mount", (char *) "stacked",
                                               (char *) "loop", (char *) "unexplained", NULL }, kind);
}

/* Whether the process's real, effective and saved UIDs are all uid (the
 * part of ptrace access that /proc asks of a caller without privileges). */
static bool process_is_users(int proc_fd, pid_t pid, uid_t uid) {
        _cleanup_free_ char *status = NULL;
        unsigned long r, e, s;
        const char *line;

        if (pid <= 0 || proc_read_file(proc_fd, pid, "status", 64 * 1024, &status, NULL) < 0)
                return false;
        line = strstr(status, "\nUid:");
        if (!line || sscanf(line + 5, "%lu %lu %lu", &r, &e, &s) != 3)
                return false;
        return r == uid && e == uid && s == uid;
}

bool holder_path_visible(const HolderViewer *v, int proc_fd, const HolderRecord *h) {
        if (v->all || kind_is_public(h->kind))
                return true;
        if (v->uid == (uid_t) -1)
                return false;
        return process_is_users(proc_fd, h->tid > 0 ? (pid_t) h->tid : h->pid, v->uid);
}
