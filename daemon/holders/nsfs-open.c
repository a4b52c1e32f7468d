/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/nsfs-open.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int nsfs_reopen_verified(int path_fd, uint64_t ino) {
        char path[64];
        struct statfs sfs;
        struct stat st;
        int fd;

        if (fstatfs(path_fd, &sfs) < 0 || fstat(path_fd, &st) < 0)
                return negative_errno();
        if (sfs.f_type != (__typeof__(sfs.f_type)) NSFS_MAGIC)
                return -EMEDIUMTYPE;
        /* Replaced since it was found, or never the one we meant. */
        if ((uint64_t) st.st_ino != ino)
                return -ESTALE;
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", path_fd);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return fd;
}

/* For kernels before openat2(): each component with O_NOFOLLOW, so a
 * symbolic link anywhere fails (ENOTDIR on the way, ELOOP never reached:
 * O_PATH|O_NOFOLLOW opens the link itself, which is not nsfs). ".." is
 * refused rather than emulated: mount points are listed without it. */
static int open_by_component(int root_fd, const char *path) {
        _cleanup_close_ int dir = -EBADF;
        char buf[4096], *save = NULL;

        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);
        dir = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return negative_errno();
        for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next;

                if (streq(c, "."))
                        continue;
                if (streq(c, ".."))
                        return -EINVAL;
                next = openat(dir, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return negative_errno();
                safe_close(dir);
                dir = next;
        }
        return TAKE_FD(dir);
}

static int open_path_in_root(int root_fd, const char *path) {
        struct open_how how = {
                .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = -EAGAIN;

        /* EAGAIN: a rename raced the lookup; the kernel asks for a retry. */
        for (unsigned i = 0; i < 8 && fd == -EAGAIN; i++) {
                fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
                if (fd < 0)
                        fd = negative_errno();
        }
        if (fd == -ENOSYS)
                return open_by_component(root_fd, path);
        return fd;
}

int nsfs_open_in_root(int root_fd, const char *path, uint64_t ino) {
        _cleanup_close_ int fd = -EBADF;

        fd = open_path_in_root(root_fd, path);
        if (fd < 0)
                return fd;
        return nsfs_reopen_verified(fd, ino);
}

int nsfs_open_link(int dir_fd, const char *path, uint64_t ino) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dir_fd, path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return nsfs_reopen_verified(fd, ino);
}
