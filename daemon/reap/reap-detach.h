/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Detach: a short-lived child joins a holder's mount namespace and lazily
 * unmounts the device's mounts there, deepest first; it does nothing else.
 * The holder's processes live on. The namespace is entered through a
 * member process (pinned by a pidfd while /proc/PID/ns/mnt is opened) or,
 * for a namespace with no process, through its nsfs pin, resolved below
 * the root of a process that sees it, or through a process's fd of it;
 * a pin is never opened before it proved to be nsfs with that inode. */

#include <stdint.h>
#include <sys/types.h>

typedef struct DetachRequest {
        uint64_t mntns;
        dev_t dev;
        char *const *paths;             /* mount points as seen inside */
        pid_t pid;                      /* a member; 0: none */
        pid_t tid;                      /* its thread that is in it; 0: the process */
        const char *pin_path;           /* an nsfs bind mount of it, or NULL */
        pid_t pin_root_pid;             /* a process that sees pin_path (as in
                                         * its root); 0: we do */
        pid_t pin_pid;                  /* or a process holding an fd of it */
        int pin_fd;
} DetachRequest;

/* Opens the namespace and forks the child. Returns its pidfd and the read
 * end of the pipe it reports on; *ret_pid is its PID. */
int reap_detach_spawn(const DetachRequest *req, pid_t *ret_pid, int *ret_pidfd, int *ret_result_fd);

/* Reads what the (exited) child reported: *ret_result is "unmounted /a,
 * /b" or names each failure; returns how many paths were detached, or a
 * negative errno if the child could not even enter the namespace. */
int reap_detach_collect(int result_fd, char *const *paths, char **ret_result);
