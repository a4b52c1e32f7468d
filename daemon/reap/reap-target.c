/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "holders/mount-devices.h"
#include "holders/proc-files.h"
#include "holders/proc-util.h"
#include "reap/reap-target.h"

void reap_process_done(ReapProcess *p) {
        safe_close(p->pidfd);
        free(p->comm);
        free(p->unit);
        *p = (ReapProcess) { .pidfd = -EBADF };
}

static int pidfd_signal(int pidfd, int sig) {
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

int reap_process_alive(const ReapProcess *p) {
        return pidfd_signal(p->pidfd, 0);
}

/* "Gone" in any of the ways /proc says it. */
static int normalize(int r) {
        return proc_error_is_vanished(r) ? -ESRCH : r;
}

int reap_process_from_pidfd(int pidfd, pid_t pid, ReapProcess *ret) {
        _cleanup_(reap_process_done) ReapProcess p = { .pid = pid, .pidfd = pidfd };
        _cleanup_close_ int proc_fd = proc_open();
        pid_t cur = pid, ppid;
        int r;

        if (proc_fd < 0)
                return proc_fd;
        r = proc_read_stat(proc_fd, pid, &ppid, &p.flags);
        if (r < 0)
                return normalize(r);
        r = proc_read_mntns(proc_fd, pid, &p.mntns);
        if (r < 0)
                return normalize(r);
        r = proc_read_comm(proc_fd, pid, &p.comm);
        if (r < 0)
                return normalize(r);
        r = proc_read_unit(proc_fd, pid, &p.unit);
        if (r < 0)
                return normalize(r);
        /* The engine's children are protected by descent, so walk up. */
        while (ppid > 1 && p.n_ancestors < REAP_MAX_ANCESTORS) {
                p.ancestors[p.n_ancestors++] = ppid;
                cur = ppid;
                if (proc_read_stat(proc_fd, cur, &ppid, NULL) < 0)
                        break;
        }
        /* Read after the pidfd was taken, so if the pidfd's process still
         * lives, the PID was not reused in between: the facts are its. */
        r = reap_process_alive(&p);
        if (r < 0)
                return r;
        *ret = p;
        p = (ReapProcess) { .pidfd = -EBADF };
        return 0;
}

int reap_process_open(pid_t pid, ReapProcess *ret) {
        int pidfd;

        if (pid <= 0)
                return -EINVAL;
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return negative_errno();
        return reap_process_from_pidfd(pidfd, pid, ret);
}

int reap_process_ignores_signal(const ReapProcess *p, int sig) {
        uint64_t ignored;
        int r;

        r = proc_read_ignored_signals(AT_FDCWD, p->pid, &ignored);
        if (r < 0)
                return normalize(r);
        /* Read after the pidfd was taken: the facts are its if it lives. */
        r = reap_process_alive(p);
        if (r < 0)
                return r;
        return !!(ignored & (UINT64_C(1) << (sig - 1)));
}

void reap_process_subject(const ReapProcess *p, ProtectSubject *ret) {
        *ret = (ProtectSubject) {
                .pid = p->pid,
                .flags = p->flags,
                .mntns = p->mntns,
                .comm = p->comm,
                .unit = p->unit,
                .ancestors = p->ancestors,
                .n_ancestors = p->n_ancestors,
        };
}

static int namespace_mounts(int proc_fd, pid_t pid, dev_t dev) {
        _cleanup_(dev_set_done) DevSet set = {};
        _cleanup_free_ char *buf = NULL;
        int r;

        r = proc_read_file(proc_fd, pid, "mountinfo", 64 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return normalize(r);
        r = mountinfo_parse_devices(buf, &set);
        if (r < 0)
                return r;
        return dev_set_contains(&set, dev);
}

/* A thread may have a cwd or root of its own (made without CLONE_FS, or
 * after unshare(CLONE_FS)), which the process's own links do not show. */
static int thread_links_on(int proc_fd, pid_t pid, dev_t dev) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        char path[64];
        int fd;

        (void) snprintf(path, sizeof(path), "%d/task", (int) pid);
        fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return normalize(negative_errno());
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                static const char *const links[] = { "cwd", "root" };

                if (de->d_name[0] == '.')
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                        char link[NAME_MAX + 8];
                        struct statx stx;

                        (void) snprintf(link, sizeof(link), "%s/%s", de->d_name, links[i]);
                        if (statx(dirfd(d), link, AT_STATX_DONT_SYNC, STATX_TYPE, &stx) == 0 &&
                            makedev(stx.stx_dev_major, stx.stx_dev_minor) == dev)
                                return 1;
                }
        }
        return 0;
}

int reap_process_references(const ReapProcess *p, dev_t dev) {
        _cleanup_(proc_files_done) ProcFiles f = {};
        _cleanup_close_ int proc_fd = proc_open();
        int r;

        if (proc_fd < 0)
                return proc_fd;
        r = proc_files_scan(proc_fd, p->pid, dev, 0, &f);
        if (r < 0)
                return normalize(r);
        r = f.n_refs > 0 ? 1 : thread_links_on(proc_fd, p->pid, dev);
        if (r == 0)
                r = namespace_mounts(proc_fd, p->pid, dev);
        if (r < 0)
                return r;
        /* As above: what /proc said is the pidfd's process's only if it
         * still lives. */
        return reap_process_alive(p) < 0 ? -ESRCH : r;
}

int reap_process_signal_checked(const ReapProcess *p, const ProtectPolicy *policy, ReapAction action,
                                dev_t dev, int sig, char *why, size_t why_size) {
        ProtectSubject s;
        ProtectReason reason;
        char buf[256];
        int r;

        reap_process_subject(p, &s);
        reason = reap_protect_check(policy, &s, action);
        if (reason != PROTECT_NONE) {
                (void) snprintf(why, why_size, "refused (%s)", reap_protect_describe(reason, &s, buf, sizeof(buf)));
                return -EPERM;
        }
        r = reap_process_references(p, dev);
        if (r == -ESRCH) {
                (void) snprintf(why, why_size, "gone (exited before the signal)");
                return r;
        }
        if (r < 0) {
                (void) snprintf(why, why_size, "failed (cannot check what it holds: %s)", strerror(-r));
                return r;
        }
        if (r == 0) {
                (void) snprintf(why, why_size, "skipped (no longer holds the device)");
                return 0;
        }
        r = pidfd_signal(p->pidfd, sig);
        if (r < 0) {
                (void) snprintf(why, why_size, r == -ESRCH ? "gone (exited before the signal)" : "failed (%s)",
                                strerror(-r));
                return r;
        }
        (void) snprintf(why, why_size, "sent SIG%s", sigabbrev_np(sig));
        return 1;
}
