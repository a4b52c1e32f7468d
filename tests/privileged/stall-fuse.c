/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "stall-fuse.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"

enum { NODE_ROOT = FUSE_ROOT_ID, NODE_DIR, NODE_PIN, NODE_IMAGE };

#define IMAGE_SIZE (1024 * 1024)

static void fill_attr(struct fuse_attr *a, uint64_t node) {
        bool file = node == NODE_PIN || node == NODE_IMAGE;

        *a = (struct fuse_attr) {
                .ino = node,
                .size = node == NODE_IMAGE ? IMAGE_SIZE : 0,
                .blocks = node == NODE_IMAGE ? IMAGE_SIZE / 512 : 0,
                .mode = file ? S_IFREG | 0644 : S_IFDIR | 0755,
                .nlink = file ? 1 : 2,
                .blksize = 4096,
        };
}

static void reply(int fd, const struct fuse_in_header *in, int error, const void *body, size_t size) {
        struct fuse_out_header out = {
                .len = (uint32_t) (sizeof(out) + (error ? 0 : size)),
                .error = -error,
                .unique = in->unique,
        };
        struct iovec iov[2] = { { &out, sizeof(out) }, { (void *) body, error ? 0 : size } };

        (void) writev(fd, iov, 2);
}

static void answer(int fd, const struct fuse_in_header *in, const char *arg) {
        switch (in->opcode) {
        case FUSE_INIT: {
                struct fuse_init_out o = {
                        .major = FUSE_KERNEL_VERSION,
                        .minor = FUSE_KERNEL_MINOR_VERSION,
                        .max_write = 4096,
                        .time_gran = 1,
                };
                reply(fd, in, 0, &o, sizeof(o));
                return;
        }
        case FUSE_LOOKUP: {
                struct fuse_entry_out e = {};
                uint64_t node = 0;

                if (in->nodeid == NODE_ROOT && strcmp(arg, "d") == 0)
                        node = NODE_DIR;
                else if (in->nodeid == NODE_ROOT && strcmp(arg, "img") == 0)
                        node = NODE_IMAGE;
                else if (in->nodeid == NODE_DIR && strcmp(arg, "pin") == 0)
                        node = NODE_PIN;
                if (node == 0) {
                        reply(fd, in, ENOENT, NULL, 0);
                        return;
                }
                e.nodeid = node;
                e.generation = 1;
                fill_attr(&e.attr, node);
                reply(fd, in, 0, &e, sizeof(e));
                return;
        }
        case FUSE_GETATTR: {
                struct fuse_attr_out a = {};

                fill_attr(&a.attr, in->nodeid);
                reply(fd, in, 0, &a, sizeof(a));
                return;
        }
        case FUSE_OPEN: {
                struct fuse_open_out o = { .fh = 1 };

                reply(fd, in, 0, &o, sizeof(o));
                return;
        }
        case FUSE_READ: {
                static char zeros[128 * 1024];
                const struct fuse_read_in *r = (const void *) arg;
                uint64_t end = MIN(r->offset + r->size, (uint64_t) IMAGE_SIZE);

                reply(fd, in, 0, zeros, MIN(end > r->offset ? end - r->offset : 0, sizeof(zeros)));
                return;
        }
        case FUSE_FLUSH:
        case FUSE_RELEASE:
                reply(fd, in, 0, NULL, 0);
                return;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
                return;  /* never answered */
        default:
                reply(fd, in, ENOSYS, NULL, 0);
        }
}

static _Noreturn void serve(int fd, int control) {
        static char buf[FUSE_MIN_READ_BUFFER + 128 * 1024];

        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = control, .events = POLLIN } };
                ssize_t n;

                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        _exit(1);
                if (p[1].revents)
                        for (;;)
                                pause();  /* stalled: requests wait for good */
                if (!(p[0].revents & POLLIN))
                        continue;
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == ENODEV)
                        _exit(0);  /* unmounted */
                if (n < (ssize_t) sizeof(struct fuse_in_header))
                        continue;
                answer(fd, (const struct fuse_in_header *) buf, buf + sizeof(struct fuse_in_header));
        }
}

int stall_fuse_start(StallFuse *f) {
        int p[2];

        *f = (StallFuse) { .dev_fd = -1, .control_fd = -1 };
        f->dev_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (f->dev_fd < 0)
                return -errno;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        f->server = fork();
        if (f->server < 0)
                return -errno;
        if (f->server == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[1]);
                serve(f->dev_fd, p[0]);
        }
        close(p[0]);
        f->control_fd = p[1];
        return 0;
}

int stall_fuse_mount(const StallFuse *f, const char *dir) {
        char options[128];

        snprintf(options, sizeof(options), "fd=%d,rootmode=40000,user_id=0,group_id=0", f->dev_fd);
        return mount("dmwarden-stall", dir, "fuse.dmwarden-stall", MS_NOSUID | MS_NODEV, options) < 0 ? -errno
                                                                                                        : 0;
}

void stall_fuse_stall(StallFuse *f) {
        (void) !write(f->control_fd, "x", 1);
}

void stall_fuse_stop(StallFuse *f) {
        if (f->server > 0) {
                (void) kill(f->server, SIGKILL);
                (void) waitpid(f->server, NULL, 0);
                f->server = 0;
        }
        if (f->dev_fd >= 0)
                close(f->dev_fd);
        if (f->control_fd >= 0)
                close(f->control_fd);
        f->dev_fd = f->control_fd = -1;
}
