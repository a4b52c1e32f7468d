/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "basic/array.h"
#include "basic/fileio.h"
#include "basic/macro.h"
#include "holders/block-stack.h"

void stacked_holder_done(StackedHolder *h) {
        free(h->name);
        h->name = NULL;
}

/* Takes name, also on failure. */
static int add_stacked(StackedHolder **stacked, size_t *n, StackedKind kind, char *name, dev_t dev) {
        StackedHolder h = { .kind = kind, .name = name, .dev = dev };
        int r;

        r = array_append((void **) stacked, n, sizeof(StackedHolder), &h);
        if (r < 0)
                free(name);
        return r;
}

/* "MAJ:MIN" from DIR/NAME/dev, or 0. */
static dev_t read_dev_attr(int dir_fd, const char *name) {
        _cleanup_free_ char *line = NULL;
        char path[300];
        unsigned maj, min;

        (void) snprintf(path, sizeof(path), "%s/dev", name);
        if (read_line_at(dir_fd, path, &line) < 0 || sscanf(line, "%u:%u", &maj, &min) != 2)
                return 0;
        return makedev(maj, min);
}

static int find_sysfs_holders(int sys_fd, dev_t dev, StackedHolder **stacked, size_t *n) {
        _cleanup_close_ int class_fd = -EBADF;
        char path[64];
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        (void) snprintf(path, sizeof(path), "dev/block/%u:%u/holders", major(dev), minor(dev));
        fd = openat(sys_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        class_fd = openat(sys_fd, "class/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        while (r >= 0 && (de = readdir(d))) {
                char *name;

                if (de->d_name[0] == '.')
                        continue;
                name = strdup(de->d_name);
                if (!name)
                        r = -ENOMEM;
                else
                        r = add_stacked(stacked, n, STACKED_HOLDER, name,
                                        class_fd >= 0 ? read_dev_attr(class_fd, de->d_name) : 0);
        }
        closedir(d);
        return r;
}

/* Whether loop device NAME (bound, by sysfs) has its backing file on dev. */
static bool loop_backed_by(const char *dev_root, const char *name, dev_t dev) {
        _cleanup_close_ int fd = -EBADF;
        struct loop_info64 info = {}; /* valgrind does not know what this ioctl writes */
        char path[PATH_MAX];

        (void) snprintf(path, sizeof(path), "%s/%s", dev_root, name);
        /* No O_EXCL and read-only: we look, we never claim the device. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
                return false;
        /* lo_device is the backing file's st_dev in the kernel's encoding,
         * which matches glibc's makedev() for every real device number. */
        return info.lo_device == (uint64_t) dev;
}

/* loop_backed_by() unless an earlier look at the same device never came
 * back: its backing file is on a filesystem that does not answer. */
static bool loop_backed_by_guarded(const char *dev_root, const char *name, dev_t loop_dev, dev_t dev,
                                   StallGuard *guard, unsigned *n_skipped) {
        uint64_t key = STALL_KEY_BLOCK(loop_dev);
        bool backed;

        if (loop_dev != 0 && stall_guard_enter(guard, key) == -EBUSY) {
                (*n_skipped)++;
                return false;
        }
        backed = loop_backed_by(dev_root, name, dev);
        if (loop_dev != 0)
                stall_guard_leave(guard, key);
        return backed;
}

static int find_loops(int sys_fd, const char *dev_root, dev_t dev, StallGuard *guard, StackedHolder **stacked,
                      size_t *n, unsigned *n_skipped) {
        _cleanup_close_ int block_fd = -EBADF;
        struct dirent *de;
        DIR *d;
        int r = 0;

        block_fd = openat(sys_fd, "block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (block_fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        d = fdopendir(block_fd);
        if (!d)
                return negative_errno();
        block_fd = -EBADF; /* owned by d */

        while (r >= 0 && (de = readdir(d))) {
                char attr[300];
                char *name;
                dev_t loop_dev;

                if (strncmp(de->d_name, "loop", 4) != 0)
                        continue;
                /* The loop/ directory only exists while a file is bound. */
                (void) snprintf(attr, sizeof(attr), "%s/loop/backing_file", de->d_name);
                if (faccessat(dirfd(d), attr, F_OK, 0) < 0)
                        continue;
                loop_dev = read_dev_attr(dirfd(d), de->d_name);
                if (!loop_backed_by_guarded(dev_root, de->d_name, loop_dev, dev, guard, n_skipped))
                        continue;
                name = strdup(de->d_name);
                r = name ? add_stacked(stacked, n, STACKED_LOOP, name, loop_dev) : -ENOMEM;
        }
        closedir(d);
        return r;
}

int block_stack_find(const char *sys_root, const char *dev_root, dev_t dev, StallGuard *guard,
                     StackedHolder **stacked, size_t *n_stacked, unsigned *n_skipped) {
        _cleanup_close_ int sys_fd = -EBADF;
        int r;

        sys_fd = open(sys_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sys_fd < 0)
                return negative_errno();
        r = find_sysfs_holders(sys_fd, dev, stacked, n_stacked);
        if (r < 0)
                return r;
        if (!dev_root)
                return 0;
        return find_loops(sys_fd, dev_root, dev, guard, stacked, n_stacked, n_skipped);
}
