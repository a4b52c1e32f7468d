/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/escape.h"
#include "basic/strv.h"
#include "holders/nsfs-open.h"
#include "reap/confine.h"
#include "reap/reap-detach.h"

/* What the child writes per path: index -1 for entering the namespace. */
typedef struct DetachRecord {
        int32_t index;
        int32_t error;                  /* 0 or a negative errno */
} DetachRecord;

/* A fd of the namespace mntns, reached without trusting a bare PID: the
 * pidfd is taken first and must still name a live process after
 * /proc/PID/ns/mnt was opened. */
static int open_member_namespace(pid_t pid, pid_t tid, uint64_t mntns) {
        _cleanup_close_ int pidfd = -EBADF, fd = -EBADF;
        char path[64];
        struct stat st;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return negative_errno();
        /* A thread may be in a namespace its process is not in. */
        if (tid > 0)
                (void) snprintf(path, sizeof(path), "/proc/%d/task/%d/ns/mnt", (int) pid, (int) tid);
        else
                (void) snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if ((uint64_t) st.st_ino != mntns)
                return -ESTALE;  /* it moved to another namespace */
        return TAKE_FD(fd);
}

/* An nsfs bind mount of mntns, resolved below the root of root_pid (or
 * ours), following no link; that process must still live once the root
 * was opened, or the root may be someone else's. */
static int open_pinned_namespace(const char *path, pid_t root_pid, uint64_t mntns) {
        _cleanup_close_ int pidfd = -EBADF, root_fd = -EBADF;
        char root[64];

        if (root_pid > 0) {
                pidfd = (int) syscall(SYS_pidfd_open, root_pid, 0);
                if (pidfd < 0)
                        return negative_errno();
                (void) snprintf(root, sizeof(root), "/proc/%d/root", (int) root_pid);
        } else
                strcpy(root, "/");
        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return negative_errno();
        if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return negative_errno();
        return nsfs_open_in_root(root_fd, path, mntns);
}

/* A namespace fd another process holds, reopened through /proc/PID/fd/N
 * once proved to be it, and only while that process still lives. */
static int open_held_namespace(pid_t pid, int fd_number, uint64_t mntns) {
        _cleanup_close_ int pidfd = -EBADF, fd = -EBADF;
        char path[64];

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return negative_errno();
        (void) snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) pid, fd_number);
        fd = nsfs_open_link(AT_FDCWD, path, mntns);
        if (fd < 0)
                return fd;
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/* Through a member if there is one, else through whatever pins it. */
static int open_namespace(const DetachRequest *req) {
        int r = -ENOENT;

        if (req->pid > 0) {
                r = open_member_namespace(req->pid, req->tid, req->mntns);
                if (r >= 0)
                        return r;
        }
        if (req->pin_path) {
                r = open_pinned_namespace(req->pin_path, req->pin_root_pid, req->mntns);
                if (r >= 0)
                        return r;
        }
        if (req->pin_pid > 0)
                r = open_held_namespace(req->pin_pid, req->pin_fd, req->mntns);
        return r;
}

/* Longest first: a mount below another has the longer path. */
static int compare_depth(const void *a, const void *b) {
        size_t la = strlen(*(char *const *) a), lb = strlen(*(char *const *) b);

        return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Unmounts whatever of dev is stacked on path. A path where something else
 * is on top now is left alone: it is not the leaked mount any more. */
static int detach_one(const char *path, dev_t dev) {
        for (unsigned n = 0; n < 16; n++) {
                struct statx stx;

                if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE,
                          &stx) < 0)
                        return n > 0 ? 0 : -errno;
                if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev)
                        return n > 0 ? 0 : -ENOENT;
                /* Private first, so the unmount stays in this namespace and
                 * cannot propagate to a peer that still needs the mount. */
                (void) mount(NULL, path, NULL, MS_PRIVATE | MS_REC, NULL);
                if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return -errno;
        }
        return 0;
}

static void close_all_but(int a, int b) {
        int lo = a < b ? a : b, hi = a < b ? b : a;

        if (lo > 3)
                (void) close_range(3, (unsigned) lo - 1, 0);
        if (hi > lo + 1)
                (void) close_range((unsigned) lo + 1, (unsigned) hi - 1, 0);
        (void) close_range((unsigned) hi + 1, ~0U, 0);
}

static void report(int fd, int32_t index, int32_t error) {
        DetachRecord rec = { .index = index, .error = error };

        if (write(fd, &rec, sizeof(rec)) != (ssize_t) sizeof(rec))
                _exit(EXIT_FAILURE);
}

_noreturn_ static void child(int ns_fd, int result_fd, const DetachRequest *req, pid_t parent) {
        size_t n = strv_length(req->paths);
        const char *order[256];
        int r;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(EXIT_FAILURE);
        /* Nothing of the daemon's comes along: no other namespace, mount
         * or device is kept open in here. */
        close_all_but(ns_fd, result_fd);
        if (setns(ns_fd, CLONE_NEWNS) < 0) {
                report(result_fd, -1, -errno);
                _exit(EXIT_FAILURE);
        }
        if (n > ELEMENTSOF(order))
                n = ELEMENTSOF(order);
        for (size_t i = 0; i < n; i++)
                order[i] = req->paths[i];
        qsort(order, n, sizeof(order[0]), compare_depth);
        /* From here on: statx, mount, umount2, write, exit; nothing else. */
        r = confine_to_unmount();
        if (r < 0) {
                report(result_fd, -1, r);
                _exit(EXIT_FAILURE);
        }
        for (size_t i = 0; i < n; i++) {
                size_t index = 0;

                while (req->paths[index] != order[i])
                        index++;
                report(result_fd, (int32_t) index, detach_one(order[i], req->dev));
        }
        _exit(EXIT_SUCCESS);
}

int reap_detach_spawn(const DetachRequest *req, pid_t *ret_pid, int *ret_pidfd, int *ret_result_fd) {
        _cleanup_close_ int ns_fd = -EBADF, pidfd = -EBADF;
        int p[2];
        pid_t parent = getpid(), pid;

        ns_fd = open_namespace(req);
        if (ns_fd < 0)
                return ns_fd;
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();

                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (pid == 0) {
                safe_close(p[0]);
                child(ns_fd, p[1], req, parent);
        }
        safe_close(p[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                int r = negative_errno();

                /* Our own child: its PID cannot be reused before we reap
                 * it, and nobody else will, so it is reaped here. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                safe_close(p[0]);
                return r;
        }
        *ret_pid = pid;
        *ret_pidfd = TAKE_FD(pidfd);
        *ret_result_fd = p[0];
        return 0;
}

int reap_detach_collect(int result_fd, char *const *paths, char **ret_result) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0, n_paths = strv_length(paths);
        DetachRecord rec;
        int n_ok = 0, enter_error = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        while (read(result_fd, &rec, sizeof(rec)) == (ssize_t) sizeof(rec)) {
                _cleanup_free_ char *path = NULL;

                if (rec.index < 0 || (size_t) rec.index >= n_paths) {
                        enter_error = rec.error ?: -EIO;
                        continue;
                }
                path = cescape(paths[rec.index]);
                if (!path)
                        break;
                if (rec.error == 0) {
                        fprintf(f, "%sunmounted %s", ftell(f) > 0 ? ", " : "", path);
                        n_ok++;
                } else
                        fprintf(f, "%s%s: %s", ftell(f) > 0 ? ", " : "", path,
                                rec.error == -ENOENT ? "no longer mounted there" : strerror(-rec.error));
        }
        if (enter_error < 0)
                fprintf(f, "%scannot enter the namespace: %s", ftell(f) > 0 ? ", " : "", strerror(-enter_error));
        if (ftell(f) == 0)
                fputs("the helper reported nothing", f);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        *ret_result = TAKE_PTR(text);
        if (enter_error < 0)
                return enter_error;
        return n_ok == 0 && n_paths > 0 ? -EBUSY : n_ok;
}
