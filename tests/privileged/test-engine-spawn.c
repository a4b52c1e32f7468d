/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine_spawn() on the real kernel, when a step in the child fails: the
 * spawn fails, names the step, and leaves no child behind. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine-spawn.h"

Test(engine_spawn, a_socket_that_cannot_be_passed_on_fails_the_spawn, .timeout = 60) {
        char *argv[] = { (char *) "/bin/true", NULL };
        int closed = 1000;      /* above anything the spawn opens */
        SpawnParams p = {
                .argv = argv,
                .propagation = PROPAGATION_PRIVATE,
                .listen_fds = &closed,
                .n_listen_fds = 1,
        };
        char reason[256] = "";
        pid_t pid = 0;
        int r;

        cr_assert_eq(fcntl(closed, F_GETFD), -1);
        r = engine_spawn(&p, &pid, reason, sizeof(reason));
        if (r == 0)
                (void) waitpid(pid, NULL, 0);
        cr_assert_eq(r, -EBADF, "spawn returned %d (%s), want -EBADF", r, r < 0 ? strerror(-r) : "success");
        cr_assert(strstr(reason, "pass on the inherited sockets"), "reason: %s", reason);
        cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "the child is left behind");
        cr_assert_eq(errno, ECHILD);
}
