/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/macro.h"
#include "engine/engine-adopt.h"
#include "engine/engine-scope.h"
#include "holders/proc-util.h"

static int refuse(char *why, size_t why_size, const char *text) {
        (void) snprintf(why, why_size, "%s", text);
        return 0;
}

/* The checks below read /proc/PID; the pidfd taken first tells afterwards
 * whether PID still named the same process while they ran. */
static int check_identity(const EngineRecord *rec, const char *scope, char *why, size_t why_size) {
        uint64_t start_time, inode;
        int r;

        r = proc_read_start_time(rec->pid, &start_time);
        if (proc_error_is_vanished(r))
                return refuse(why, why_size, "it is gone");
        if (r < 0)
                return r;
        if (start_time != rec->start_time)
                return refuse(why, why_size, "the PID belongs to another process now");
        r = proc_read_mntns(AT_FDCWD, rec->pid, &inode);
        if (proc_error_is_vanished(r))
                return refuse(why, why_size, "it is gone");
        if (r < 0)
                return r;
        if (inode != rec->namespace_inode)
                return refuse(why, why_size, "it is not in the recorded mount namespace");
        if (!scope)
                return 1;
        if (!streq(rec->scope, scope))
                return refuse(why, why_size, "it was not started in our engine scope");
        r = engine_scope_contains(scope, rec->pid);
        if (r < 0)
                return r;
        if (r == 0)
                return refuse(why, why_size, "it does not run in our engine scope");
        return 1;
}

int engine_record_verify(const EngineRecord *rec, const char *scope, int *ret_pidfd, char *why, size_t why_size) {
        _cleanup_close_ int pidfd = -EBADF;
        int r;

        pidfd = (int) syscall(SYS_pidfd_open, rec->pid, 0);
        if (pidfd < 0 && errno == ESRCH)
                return refuse(why, why_size, "it is gone");
        if (pidfd < 0)
                return negative_errno();
        r = check_identity(rec, scope, why, why_size);
        if (r <= 0)
                return r;
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return errno == ESRCH ? refuse(why, why_size, "it ended while it was checked") : negative_errno();
        *ret_pidfd = TAKE_FD(pidfd);
        return 1;
}
