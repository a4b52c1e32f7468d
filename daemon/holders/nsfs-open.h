/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Opening a namespace file at a path another process chose (an nsfs bind
 * mount, /proc/PID/fd/N) without trusting what is there now: it is first
 * reached with O_PATH, which never opens the file itself (a FIFO put there
 * cannot block us), then must be nsfs with the expected inode, and only
 * then is it reopened, through /proc/self/fd, for setns(). */

#include <stdint.h>

/* path resolved below root_fd as if root_fd were "/" (openat2()
 * RESOLVE_IN_ROOT), following no symbolic link at all; a component at a
 * time with O_NOFOLLOW where openat2() is missing. For a bind mount seen
 * inside a namespace, root_fd is /proc/PID/root of a process there.
 * Returns an O_RDONLY fd; -ENOTDIR/-ELOOP for a link on the way,
 * -EMEDIUMTYPE if it is not nsfs, -ESTALE if another namespace, or the
 * error of the open. */
int nsfs_open_in_root(int root_fd, const char *path, uint64_t ino);

/* path below dir_fd (a /proc/PID/ns/mnt or /proc/PID/fd/N magic link,
 * which is followed: it can only lead to what that process has open).
 * Errors as above. */
int nsfs_open_link(int dir_fd, const char *path, uint64_t ino);

/* Checks an O_PATH fd as above and reopens it for setns(). */
int nsfs_reopen_verified(int path_fd, uint64_t ino);
