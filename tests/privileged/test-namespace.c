/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The premise dmwarden stands on, checked on the real kernel: a mount made in
 * a namespace whose root is a slave never reaches the namespace it came from,
 * and it lives exactly as long as that namespace does. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop-util.h"

/* Child: own mount namespace, slave root, mount the device, report, wait. */
_Noreturn static void run_engine_like_child(const char *node, const char *dir, int ready_fd) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWNS) < 0)
                _exit(10);
        /* Receive the host's mounts, never send ours back. */
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                _exit(11);
        if (mount(node, dir, "ext4", 0, NULL) < 0)
                _exit(12);
        if (write(ready_fd, "r", 1) != 1)
                _exit(13);
        pause();
        _exit(0);
}

Test(namespace, slave_namespace_mount_stays_inside_and_dies_with_it, .timeout = 60) {
        TestLoop loop = { .fd = -1 };
        char dir[] = "/tmp/dmwarden-mnt-XXXXXX", path[64], c;
        int pipefd[2], status;
        pid_t pid;

        test_loop_new(&loop, 16);
        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                run_engine_like_child(loop.node, dir, pipefd[1]);
        close(pipefd[1]);
        cr_assert_eq(read(pipefd[0], &c, 1), 1, "child failed before mounting");
        close(pipefd[0]);

        snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int) pid);
        cr_assert(mountinfo_has_device(path, loop.devnum), "the child's namespace must show its mount");
        cr_assert(!mountinfo_has_device("/proc/self/mountinfo", loop.devnum),
                  "the mount leaked into the parent namespace");
        cr_assert(!wait_device_free(loop.node, 0), "a mounted device must be busy");

        /* Nobody pins the namespace: when its last process goes, so does the mount. */
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(wait_device_free(loop.node, 10000), "device still busy 10 s after the namespace died");

        test_loop_release(&loop);
        rmdir(dir);
}
