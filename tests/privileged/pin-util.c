/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pin-util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void pin_world_enter(const char *prefix, char *root, size_t size) {
        cpu_set_t cpu;

        CPU_ZERO(&cpu);
        CPU_SET(sched_getcpu(), &cpu);
        cr_assert_eq(sched_setaffinity(0, sizeof(cpu), &cpu), 0);
        cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
        cr_assert_eq(mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL), 0);
        snprintf(root, size, "/tmp/%s-XXXXXX", prefix);
        cr_assert_not_null(mkdtemp(root));
        cr_assert_eq(mount("dmwarden-test", root, "tmpfs", 0, "size=1m"), 0);
}
