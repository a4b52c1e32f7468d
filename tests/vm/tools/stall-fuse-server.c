/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stall-fuse-server DIR: mounts the tests' FUSE server (tests/privileged/
 * stall-fuse.h: a directory "d" holding "pin", and "img", a 1 MiB file)
 * on DIR, prints the server's PID, and waits for it. The VM scenarios stall it the
 * way a hung server stalls, with SIGSTOP, and end it with SIGKILL. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stall-fuse.h"

int main(int argc, char **argv) {
        StallFuse f;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        r = stall_fuse_start(&f);
        if (r < 0) {
                fprintf(stderr, "cannot start the FUSE server: %s\n", strerror(-r));
                return 1;
        }
        r = stall_fuse_mount(&f, argv[1]);
        if (r < 0) {
                fprintf(stderr, "cannot mount the FUSE server on %s: %s\n", argv[1], strerror(-r));
                stall_fuse_stop(&f);
                return 1;
        }
        close(f.dev_fd);
        printf("%d\n", (int) f.server);
        fflush(stdout);
        /* The server dies with this process (PR_SET_PDEATHSIG). */
        while (waitpid(f.server, NULL, 0) < 0 && errno == EINTR)
                ;
        return 0;
}
