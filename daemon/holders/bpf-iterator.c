/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
/* After errno.h, which it uses without including. */
#include <bpf/skel_internal.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/bpf-iterator.h"

int bpf_iterator_read(int link_fd, size_t size, void **ret, size_t *ret_n) {
        union bpf_attr attr = { .iter_create.link_fd = (__u32) link_fd };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, allocated = 0;

        fd = skel_sys_bpf(BPF_ITER_CREATE, &attr, sizeof(attr));
        if (fd < 0)
                return negative_errno();
        for (;;) {
                ssize_t k;

                if (allocated - len < 64 * 1024) {
                        size_t m = allocated ? allocated * 2 : 256 * 1024;
                        char *p = realloc(buf, m);

                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = m;
                }
                k = read(fd, buf + len, allocated - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len % size != 0)
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        *ret_n = len / size;
        return 0;
}
