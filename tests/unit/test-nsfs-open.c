/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/nsfs-open.h"
#include "test-util.h"

static char dir[PATH_MAX];
static int dir_fd = -EBADF;

static void setup(void) {
        test_make_tmpdir(dir, sizeof(dir));
        dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(dir_fd, 0);
}

static void teardown(void) {
        dir_fd = safe_close(dir_fd);
        test_remove_tree(dir);
}

static uint64_t ino_of(const char *path) {
        struct stat st;

        cr_assert_eq(stat(path, &st), 0, "%s: %m", path);
        return (uint64_t) st.st_ino;
}

static void make_in_dir(const char *name, const char *link_target) {
        char path[PATH_MAX + 64];

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (link_target)
                cr_assert_eq(symlink(link_target, path), 0);
        else
                test_write_file(path, "not a namespace\n");
}

TestSuite(nsfs_open, .init = setup, .fini = teardown, .timeout = 10);

Test(nsfs_open, proc_link_accepted_with_its_inode) {
        _cleanup_close_ int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        uint64_t ino = ino_of("/proc/self/ns/mnt");
        int fd;

        cr_assert_geq(proc_fd, 0);
        fd = nsfs_open_link(proc_fd, "self/ns/mnt", ino);
        cr_assert_geq(fd, 0, "%s", strerror(-fd));
        /* Opened for real, so setns() would take it. */
        cr_assert_eq(fcntl(fd, F_GETFL) & O_PATH, 0);
        cr_assert_eq(ino_of("/proc/self/ns/mnt"), ino);
        safe_close(fd);
}

Test(nsfs_open, wrong_inode_refused) {
        _cleanup_close_ int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

        cr_assert_eq(nsfs_open_link(proc_fd, "self/ns/mnt", ino_of("/proc/self/ns/mnt") + 1), -ESTALE);
        /* Another namespace of ours is nsfs too, but not the one asked for. */
        cr_assert_eq(nsfs_open_link(proc_fd, "self/ns/net", ino_of("/proc/self/ns/mnt")), -ESTALE);
}

Test(nsfs_open, regular_file_refused) {
        make_in_dir("file", NULL);
        cr_assert_eq(nsfs_open_in_root(dir_fd, "/file", ino_of("/proc/self/ns/mnt")), -EMEDIUMTYPE);
        cr_assert_eq(nsfs_open_link(dir_fd, "file", ino_of("/proc/self/ns/mnt")), -EMEDIUMTYPE);
}

/* The fault this guards against: a FIFO put where a pin was. A plain open
 * would wait for a writer forever; the suite's timeout catches that. */
Test(nsfs_open, fifo_refused_without_blocking) {
        char path[PATH_MAX + 16];

        (void) snprintf(path, sizeof(path), "%s/fifo", dir);
        cr_assert_eq(mkfifo(path, 0600), 0);
        cr_assert_eq(nsfs_open_in_root(dir_fd, "/fifo", ino_of("/proc/self/ns/mnt")), -EMEDIUMTYPE);
        cr_assert_eq(nsfs_open_link(dir_fd, "fifo", ino_of("/proc/self/ns/mnt")), -EMEDIUMTYPE);
}

Test(nsfs_open, symlinks_never_followed) {
        uint64_t ino = ino_of("/proc/self/ns/mnt");
        int r;

        make_in_dir("link", "/proc/self/ns/mnt");
        make_in_dir("nsdir", "/proc/self/ns");
        r = nsfs_open_in_root(dir_fd, "/link", ino);
        cr_assert(r == -ELOOP || r == -EMEDIUMTYPE, "a link to a namespace: %s", strerror(-r));
        r = nsfs_open_in_root(dir_fd, "/nsdir/mnt", ino);
        cr_assert(r == -ELOOP || r == -ENOTDIR, "a link on the way: %s", strerror(-r));
        /* Resolved in the root given, never above it. */
        r = nsfs_open_in_root(dir_fd, "/../../../proc/self/ns/mnt", ino);
        cr_assert_lt(r, 0, "escaped the root");
}

/* A real nsfs bind mount, reached below a root: needs a mount namespace of
 * our own, which an unprivileged user namespace gives where allowed. */
Test(nsfs_open, bind_mount_accepted) {
        char path[PATH_MAX + 16];
        pid_t pid;
        int status;

        (void) snprintf(path, sizeof(path), "%s/pin", dir);
        make_in_dir("pin", NULL);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int fd, root_fd;

                if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        _exit(77);
                if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0 ||
                    mount("/proc/self/ns/uts", path, NULL, MS_BIND, NULL) < 0)
                        _exit(77);
                /* The fd from before sees the mounts of the namespace it
                 * was opened in, where there is no pin: a root must come
                 * from the namespace the pin is in. */
                if (nsfs_open_in_root(dir_fd, "/pin", ino_of("/proc/self/ns/uts")) != -EMEDIUMTYPE)
                        _exit(4);
                root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                fd = nsfs_open_in_root(root_fd, "/pin", ino_of("/proc/self/ns/uts"));
                if (fd < 0)
                        _exit(1);
                if (nsfs_open_in_root(root_fd, "/pin", ino_of("/proc/self/ns/mnt")) != -ESTALE)
                        _exit(2);
                /* Opened for real (setns() itself would need privilege over
                 * that namespace, which a user namespace lacks). */
                _exit(fcntl(fd, F_GETFL) & O_PATH ? 3 : 0);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                cr_skip_test("no mount namespace of our own here");
        cr_assert_eq(WEXITSTATUS(status), 0, "step %d failed", WEXITSTATUS(status));
}
