/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "engine/namespace-pin.h"

/* Whether path is the root of a mount: its mount differs from its parent's. */
static int is_mount_point(const char *path) {
        struct statx sx_path, sx_parent;
        char parent[4096];

        if (snprintf(parent, sizeof(parent), "%s/..", path) >= (int) sizeof(parent))
                return -ENAMETOOLONG;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx_path) < 0 ||
            statx(AT_FDCWD, parent, 0, STATX_MNT_ID, &sx_parent) < 0)
                return negative_errno();
        if (!(sx_path.stx_mask & STATX_MNT_ID) || !(sx_parent.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        return sx_path.stx_mnt_id != sx_parent.stx_mnt_id;
}

int runtime_dir_prepare(const char *dir) {
        int r;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();

        r = is_mount_point(dir);
        if (r < 0)
                return r;
        if (r == 0 && mount(dir, dir, NULL, MS_BIND, NULL) < 0)
                return negative_errno();
        /* Private, not slave: nothing of ours may flow anywhere, and nothing
         * from the host may land on top of the pins. */
        if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0)
                return negative_errno();
        return 0;
}

int runtime_dir_release(const char *dir) {
        int r = is_mount_point(dir);

        if (r == -ENOENT || r == 0)
                return 0;
        if (r < 0)
                return r;
        if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                return negative_errno();
        return 0;
}

int namespace_pin(pid_t pid, const char *path) {
        char source[64];
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        (void) close(fd);

        (void) snprintf(source, sizeof(source), "/proc/%d/ns/mnt", (int) pid);
        if (mount(source, path, NULL, MS_BIND, NULL) < 0) {
                int r = negative_errno();

                (void) unlink(path);
                return r;
        }
        return 0;
}

int namespace_unpin(const char *path) {
        /* A crashed predecessor may have left several pins stacked here;
         * every one of them keeps a namespace, and maybe a device, alive. */
        while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                ;
        if (errno != EINVAL && errno != ENOENT)
                return negative_errno();
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int namespace_enter_new(Propagation propagation) {
        unsigned long flags = MS_REC | (propagation == PROPAGATION_PRIVATE ? MS_PRIVATE : MS_SLAVE);

        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        /* slave: host mounts still reach the engine, the engine's never reach
         * the host. private: nothing flows either way. */
        if (mount(NULL, "/", NULL, flags, NULL) < 0)
                return negative_errno();
        return 0;
}
