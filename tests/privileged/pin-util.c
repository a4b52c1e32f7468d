/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pin-util.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

int pin_new_namespace(const char *pin) {
        char nspath[64];
        pid_t inner;
        int status;

        inner = fork();
        if (inner < 0)
                return 20;
        if (inner == 0) {
                if (unshare(CLONE_NEWNS) < 0)
                        _exit(1);
                for (;;)
                        pause();
        }
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int) inner);
        /* Until the inner child has unshared, its ns/mnt is ours, which
         * cannot be bound into itself. */
        for (unsigned i = 0; mount(nspath, pin, NULL, MS_BIND, NULL) < 0; i++) {
                if (i > 1000) {
                        (void) kill(inner, SIGKILL);
                        (void) waitpid(inner, &status, 0);
                        return 22;
                }
                usleep(1000);
        }
        (void) kill(inner, SIGKILL);
        (void) waitpid(inner, &status, 0);
        return 0;
}
