/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-notify [--from-exited-child [--uid UID]] STATE...: what a notifying
 * engine does, sd_notify() with the given assignments joined by newlines,
 * without needing systemd-notify.
 *
 * --from-exited-child sends in the name of a child that has already exited
 * (a zombie until we are done), as a short-lived notify helper looks by the
 * time dmwardend reads its message; --uid sets the sender's uid too. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

/* sendmsg() with exactly these credentials: unlike sd_pid_notify(), never
 * falls back to our own, so the test sees the sender it asked for. */
static int send_as(const struct ucred *cred, const char *message) {
        const char *address = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        union {
                struct cmsghdr align;
                char data[CMSG_SPACE(sizeof(struct ucred))];
        } control = {};
        struct iovec iov = { .iov_base = (char *) message, .iov_len = strlen(message) };
        struct msghdr mh = {
                .msg_name = &sa,
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        size_t n;
        int fd, r;

        if (!address || strlen(address) >= sizeof(sa.sun_path))
                return -EINVAL;
        n = strlen(address);
        memcpy(sa.sun_path, address, n);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        mh.msg_namelen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_CREDENTIALS;
        c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
        memcpy(CMSG_DATA(c), cred, sizeof(*cred));

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
        close(fd);
        return r;
}

int main(int argc, char *argv[]) {
        char message[4096] = "";
        bool from_child = false;
        uid_t uid = 0;
        int i = 1, r;

        if (i < argc && strcmp(argv[i], "--from-exited-child") == 0) {
                from_child = true;
                i++;
                if (i + 1 < argc && strcmp(argv[i], "--uid") == 0) {
                        uid = (uid_t) atoi(argv[i + 1]);
                        i += 2;
                }
        }
        for (; i < argc; i++) {
                strncat(message, argv[i], sizeof(message) - strlen(message) - 2);
                strcat(message, "\n");
        }

        if (from_child) {
                struct ucred cred = { .uid = uid, .gid = uid };
                siginfo_t si;

                cred.pid = fork();
                if (cred.pid < 0)
                        return 1;
                if (cred.pid == 0)
                        _exit(0);
                /* Wait for the exit without reaping: the pid stays valid to send as. */
                if (waitid(P_PID, (id_t) cred.pid, &si, WEXITED | WNOWAIT) < 0)
                        return 1;
                r = send_as(&cred, message);
                (void) waitpid(cred.pid, NULL, 0);
                if (r < 0) {
                        fprintf(stderr, "fake-notify: sending as PID %d failed: %s\n", (int) cred.pid, strerror(-r));
                        return 1;
                }
                return 0;
        }

        /* Speak as our parent, the engine itself, as a real engine does
         * (and as systemd-notify does when run by root). */
        r = sd_pid_notify(getppid(), 0, message);
        if (r <= 0) {
                fprintf(stderr, "fake-notify: sd_notify failed (%d); NOTIFY_SOCKET unset?\n", r);
                return 1;
        }
        return 0;
}
