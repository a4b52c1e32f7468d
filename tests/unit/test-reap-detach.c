/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The detach helper's spawn when it goes wrong after the fork: no child
 * may be left behind, not even as a zombie. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "reap/reap-detach.h"

/* pidfd_open() fails with EMFILE for every PID but our own, so the
 * namespace is still reached (through our fd of it) while the helper's
 * pidfd cannot be had. */
static void fail_pidfd_open_of_others(void) {
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t) getpid(), 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EMFILE),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(filter), .filter = filter };

        cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

Test(reap_detach, a_helper_without_a_pidfd_is_reaped) {
        char *paths[] = { (char *) "/nonexistent", NULL };
        int ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        DetachRequest req = { .paths = paths, .pin_pid = getpid() };
        pid_t pid = 0;
        int pidfd = -EBADF, result_fd = -EBADF;
        siginfo_t si = {};
        struct stat st;

        cr_assert_geq(ns_fd, 0);
        cr_assert_eq(fstat(ns_fd, &st), 0);
        req.mntns = st.st_ino;
        req.pin_fd = ns_fd;
        fail_pidfd_open_of_others();

        cr_assert_eq(reap_detach_spawn(&req, &pid, &pidfd, &result_fd), -EMFILE);
        cr_assert_eq(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1, "the helper is left behind (a zombie if PID %d is not 0)", (int) si.si_pid);
        cr_assert_eq(errno, ECHILD);
}
