/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/macro.h"
#include "engine/notify-socket.h"

int notify_socket_open(const char *runtime_dir, int *ret_fd, char **ret_address) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *address = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1, n, r;
        mode_t old_umask;

        n = asprintf(&address, "%s/" NOTIFY_SOCKET_NAME, runtime_dir);
        if (n < 0)
                return -ENOMEM;
        if ((size_t) n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, address, (size_t) n);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* Left by a dmwardend that did not exit; the directory is ours. */
        if (unlink(address) < 0 && errno != ENOENT)
                return negative_errno();
        /* Only root may send: the socket is born 0600, no window open. */
        old_umask = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) n + 1));
        umask(old_umask);
        if (r < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return negative_errno();

        *ret_fd = TAKE_FD(fd);
        *ret_address = TAKE_PTR(address);
        return 0;
}

static void close_passed_fds(struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                int *fds = (int *) CMSG_DATA(c);
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                for (size_t i = 0; i < n; i++)
                        (void) close(fds[i]);
        }
}

ssize_t notify_socket_receive(int fd, char *buf, size_t size, struct ucred *ret_ucred) {
        union {
                struct cmsghdr align;
                char data[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        ssize_t n;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0)
                return negative_errno();
        close_passed_fds(&mh);

        *ret_ucred = (struct ucred) {};
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        memcpy(ret_ucred, CMSG_DATA(c), sizeof(struct ucred));

        if ((size_t) n >= size)
                return -EMSGSIZE; /* truncated: better ignored than half-read */
        buf[n] = '\0';
        return n;
}
