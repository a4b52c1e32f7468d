/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A namespace pin another user replaced: what anyone may do with
 * `unshare -Urm` (pin a child namespace with an nsfs bind mount, end its
 * process, bind a FIFO over the pin) must not hang a holder scan that
 * follows the pin, nor dmwardenctl. Each scan runs in a child under
 * alarm(), so a regression fails here instead of hanging the suite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/holder-scan.h"
#include "loop-util.h"
#include "pin-util.h"

#define SCAN_SECONDS 10

typedef struct PinWorld {
        TestLoop loop;
        char root[64];      /* a tmpfs in our private namespace */
        char pin[80];       /* the pin, with a FIFO over it */
        pid_t holder;       /* the process in the namespace with the pin */
} PinWorld;

/* In the child that owns the pin's namespace: pins a newer namespace whose
 * only process then ends, and covers the pin with a FIFO. */
static void pin_and_cover(const PinWorld *w) {
        char fifo[96];
        int fd, r;

        fd = open(w->pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                _exit(21);
        close(fd);
        r = pin_new_namespace(w->pin);
        if (r != 0)
                _exit(r);
        snprintf(fifo, sizeof(fifo), "%s/fifo", w->root);
        if (mkfifo(fifo, 0600) < 0 || mount(fifo, w->pin, NULL, MS_BIND, NULL) < 0)
                _exit(23);
}

static void world_new(PinWorld *w) {
        int p[2];
        char c;

        *w = (PinWorld) { .loop.fd = -1 };
        pin_world_enter("dmwarden-pin", w->root, sizeof(w->root));
        snprintf(w->pin, sizeof(w->pin), "%s/pin", w->root);
        test_loop_new(&w->loop, 16);

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        w->holder = fork();
        cr_assert_geq(w->holder, 0);
        if (w->holder == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[0]);
                close(w->loop.fd);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
                        _exit(10);
                /* Something of the device in here, so the scan has a reason
                 * to look at this namespace's mounts. */
                if (mount(w->loop.node, w->root, "ext4", 0, NULL) < 0)
                        _exit(11);
                pin_and_cover(w);
                if (write(p[1], "x", 1) != 1)
                        _exit(12);
                for (;;)
                        pause();
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1) {
                int status = 0;

                (void) waitpid(w->holder, &status, 0);
                cr_assert_fail("setup failed with status %d", WEXITSTATUS(status));
        }
        close(p[0]);
}

static void world_free(PinWorld *w) {
        (void) kill(w->holder, SIGKILL);
        (void) waitpid(w->holder, NULL, 0);
        test_loop_release(&w->loop);
        cr_assert(wait_device_free(w->loop.node, 10000), "%s still busy after the test", w->loop.node);
        (void) umount2(w->root, MNT_DETACH);
        (void) rmdir(w->root);
}

/* Waits for a child that runs under alarm(SCAN_SECONDS): its exit status,
 * or a failure that names a hang. */
static int wait_bounded(pid_t pid, const char *what) {
        int status;

        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM), "%s hung (killed after %ds)", what,
                  SCAN_SECONDS);
        cr_assert(WIFEXITED(status), "%s died of signal %d", what, WTERMSIG(status));
        return WEXITSTATUS(status);
}

Test(pin_fifo, mountinfo_scan_returns, .timeout = 120) {
        PinWorld w;
        pid_t pid;

        world_new(&w);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                HolderScanOptions o = { .dev = w.loop.devnum, .source = MOUNT_SOURCE_MOUNTINFO };
                HolderScan *s = NULL;
                int r;

                alarm(SCAN_SECONDS);
                r = holder_scan(&o, &s);
                if (r < 0)
                        _exit(1);
                /* The holder's namespace is found, through the mountinfo of
                 * its process; the covered pin only leads nowhere. */
                r = 2;
                for (size_t i = 0; i < s->n_namespaces; i++)
                        if (s->namespaces[i].mount_points[0] && streq(s->namespaces[i].mount_points[0], w.root))
                                r = 0;
                holder_scan_free(s);
                _exit(r);
        }
        cr_assert_eq(wait_bounded(pid, "holder_scan(mountinfo)"), 0, "the scan failed or missed the holder");
        world_free(&w);
}

Test(pin_fifo, dmwardenctl_holders_returns, .timeout = 120) {
        const char *ctl = getenv("DMWARDENCTL");
        PinWorld w;
        pid_t pid;

        cr_assert_not_null(ctl, "DMWARDENCTL is not set; run the tests through meson");
        world_new(&w);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                /* alarm() outlives execv(). */
                alarm(SCAN_SECONDS);
                if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
                        _exit(126);
                execl(ctl, ctl, "holders", w.loop.node, "--source=mountinfo", (char *) NULL);
                _exit(127);
        }
        cr_assert_eq(wait_bounded(pid, "dmwardenctl holders --source=mountinfo"), 0);
        world_free(&w);
}
