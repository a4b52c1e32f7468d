/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The detach helper's confinement, on the real kernel: after
 * confine_to_unmount() a process can still unmount (and statx, make a
 * mount private, write its report, exit), and nothing else: no other
 * capability, not even in the bounding set, and every other system call,
 * open, kill, socket, ptrace, setns, fails. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reap/confine.h"

enum {
        CHECK_CONFINE,
        CHECK_STATX,
        CHECK_PRIVATE,
        CHECK_UMOUNT,
        CHECK_OPEN,
        CHECK_KILL,
        CHECK_SOCKET,
        CHECK_SETNS,
        CHECK_PTRACE,
        CHECK_CAPGET,
        _CHECK_MAX,
};

static const char *const check_name[_CHECK_MAX] = {
        "confine_to_unmount()", "statx", "mount(MS_PRIVATE)", "umount2", "open", "kill", "socket",
        "setns", "ptrace", "capget",
};

static int as_result(long r) {
        return r < 0 ? -errno : 0;
}

/* The child: a tmpfs to unmount, confinement, then each call once; the
 * errnos go to the parent through the pipe (write is allowed). */
_Noreturn static void confined_child(const char *dir, int fd) {
        int results[_CHECK_MAX];
        struct statx stx;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0 ||
            mount("confine", dir, "tmpfs", 0, NULL) < 0)
                _exit(10);
        results[CHECK_CONFINE] = confine_to_unmount();
        results[CHECK_STATX] = as_result(statx(AT_FDCWD, dir, 0, STATX_TYPE, &stx));
        results[CHECK_PRIVATE] = as_result(mount(NULL, dir, NULL, MS_PRIVATE, NULL));
        results[CHECK_UMOUNT] = as_result(umount2(dir, MNT_DETACH));
        results[CHECK_OPEN] = as_result(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
        results[CHECK_KILL] = as_result(kill(getppid(), 0));
        results[CHECK_SOCKET] = as_result(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        results[CHECK_SETNS] = as_result(setns(0, 0));
        results[CHECK_PTRACE] = as_result(syscall(SYS_ptrace, 0, 0, 0, 0));
        results[CHECK_CAPGET] = as_result(syscall(SYS_capget, NULL, NULL));
        _exit(write(fd, results, sizeof(results)) == (ssize_t) sizeof(results) ? 0 : 11);
}

Test(confine, the_detach_helper_can_unmount_and_nothing_else, .timeout = 60) {
        char dir[] = "/tmp/dmwarden-confine-XXXXXX";
        int p[2], status, results[_CHECK_MAX];
        pid_t pid;

        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                confined_child(dir, p[1]);
        close(p[1]);
        cr_assert_eq(read(p[0], results, sizeof(results)), (ssize_t) sizeof(results), "the child did not report");
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(p[0]);
        (void) rmdir(dir);

        for (int i = CHECK_CONFINE; i <= CHECK_UMOUNT; i++)
                cr_expect_eq(results[i], 0, "%s failed (%d) but must work", check_name[i], results[i]);
        for (int i = CHECK_OPEN; i < _CHECK_MAX; i++)
                cr_expect_eq(results[i], -EPERM, "%s gave %d, not -EPERM", check_name[i], results[i]);
}

/* What it keeps: CAP_SYS_ADMIN in the effective, permitted and bounding
 * sets, nothing else; no_new_privs. Read from /proc, by the parent. */
Test(confine, only_cap_sys_admin_is_left, .timeout = 60) {
        int p[2], status;
        char buf[4096], path[64], c;
        unsigned long long eff = 0, prm = 0, bnd = 0, nnp = 0;
        pid_t pid;
        FILE *f;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(p[0]);
                /* It spins below: it must not outlive a killed test. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
                        _exit(12);
                if (confine_to_unmount() < 0)
                        _exit(10);
                if (write(p[1], "c", 1) != 1)
                        _exit(11);
                /* Stay alive while the parent looks; pause() is not a
                 * system call it may make any more. */
                for (;;)
                        ;
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the child could not confine itself");
        (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        while (fgets(buf, sizeof(buf), f)) {
                (void) sscanf(buf, "CapEff: %llx", &eff);
                (void) sscanf(buf, "CapPrm: %llx", &prm);
                (void) sscanf(buf, "CapBnd: %llx", &bnd);
                (void) sscanf(buf, "NoNewPrivs: %llu", &nnp);
        }
        fclose(f);
        (void) kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        close(p[0]);
        cr_expect_eq(eff, 1ULL << CAP_SYS_ADMIN, "CapEff %llx", eff);
        cr_expect_eq(prm, 1ULL << CAP_SYS_ADMIN, "CapPrm %llx", prm);
        cr_expect_eq(bnd, 1ULL << CAP_SYS_ADMIN, "CapBnd %llx", bnd);
        cr_expect_eq(nnp, 1, "NoNewPrivs %llu", nnp);
}
