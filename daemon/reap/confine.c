/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/macro.h"
#include "reap/confine.h"

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_I386
#else
#error "confine.c: add this architecture's AUDIT_ARCH_ value"
#endif

static int drop_bounding_set(void) {
        for (unsigned long cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (cap != CAP_SYS_ADMIN && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        return 0;
}

static int keep_only_sys_admin(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};

        d[0].effective = d[0].permitted = 1U << CAP_SYS_ADMIN;
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int install_filter(void) {
        struct sock_filter filter[] = {
                /* A call made through another ABI has other numbers. */
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                ALLOW(SYS_statx),
                ALLOW(SYS_mount),
                ALLOW(SYS_umount2),
                ALLOW(SYS_write),
                ALLOW(SYS_exit),
                ALLOW(SYS_exit_group),
                ALLOW(SYS_rt_sigreturn),
#if DMWARDEN_SANITIZED
                /* Sanitizer builds only: the runtime itself runs in here (at
                 * _exit() ASan checks the signal stack; a report maps memory). */
                ALLOW(SYS_sigaltstack),
                ALLOW(SYS_mmap),
                ALLOW(SYS_munmap),
                ALLOW(SYS_mprotect),
                ALLOW(SYS_madvise),
                ALLOW(SYS_rt_sigaction),
                ALLOW(SYS_rt_sigprocmask),
                ALLOW(SYS_getpid),
                ALLOW(SYS_gettid),
                ALLOW(SYS_futex),
#endif
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(filter), .filter = filter };

        return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0 ? -errno : 0;
}

int confine_to_unmount(void) {
        int r;

        /* The bounding set first: dropping from it needs CAP_SETPCAP. */
        r = drop_bounding_set();
        if (r < 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        r = keep_only_sys_admin();
        if (r < 0)
                return r;
        return install_filter();
}
