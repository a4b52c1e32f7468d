/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/PID/mountinfo into a MountTable: the parser, which does no I/O so
 * fixtures can test it, and the two ways to the text of a namespace. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/mountinfo.h"
#include "holders/proc-util.h"

/* Field n of a mountinfo line, with the kernel's octal escapes (\040 for a
 * blank, \011, \012, \134) undone. */
static char *unescape_field(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n &&
                    s[i + 1] >= '0' && s[i + 1] <= '3' &&
                    s[i + 2] >= '0' && s[i + 2] <= '7' &&
                    s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) (((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

/* Splits [line, end) at blanks; returns the number of fields found (at most
 * max). The kernel escapes blanks inside fields, so a blank always splits. */
static size_t split_fields(const char *line, const char *end, const char **starts, size_t *lengths, size_t max) {
        size_t n = 0;
        const char *p = line;

        while (p < end && n < max) {
                const char *q = memchr(p, ' ', (size_t) (end - p));

                if (!q)
                        q = end;
                starts[n] = p;
                lengths[n] = (size_t) (q - p);
                n++;
                p = q + 1;
        }
        return n;
}

bool mountinfo_next_line(const char **p, const char *end, const char **ret_line, size_t *ret_size) {
        const char *nl;

        if (*p >= end)
                return false;
        nl = memchr(*p, '\n', (size_t) (end - *p));
        if (!nl)
                nl = end;
        *ret_line = *p;
        *ret_size = (size_t) (nl - *p);
        *p = nl < end ? nl + 1 : end;
        return true;
}

/* All of [s, s + n) as a decimal number of at most 32 bits. */
static bool parse_u32(const char *s, size_t n, unsigned *ret) {
        uint64_t v = 0;

        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
                if (v > UINT_MAX)
                        return false;
        }
        *ret = (unsigned) v;
        return true;
}

int mountinfo_parse_head(const char *line, size_t size, uint64_t *ret_id, dev_t *ret_dev) {
        const char *starts[3], *colon;
        size_t lengths[3];
        unsigned id, parent, maj, min;

        if (split_fields(line, line + size, starts, lengths, ELEMENTSOF(starts)) < ELEMENTSOF(starts) ||
            starts[2] + lengths[2] == line + size)
                return -EBADMSG;
        colon = memchr(starts[2], ':', lengths[2]);
        if (!colon ||
            !parse_u32(starts[0], lengths[0], &id) ||
            !parse_u32(starts[1], lengths[1], &parent) ||
            !parse_u32(starts[2], (size_t) (colon - starts[2]), &maj) ||
            !parse_u32(colon + 1, (size_t) (starts[2] + lengths[2] - colon - 1), &min))
                return -EBADMSG;
        if (ret_id)
                *ret_id = id;
        *ret_dev = makedev(maj, min);
        return 0;
}

/* One line. Returns 1 if kept, 0 if skipped or malformed (a malformed line
 * is skipped: one bad line must not hide the others). */
static int parse_line(const char *line, size_t size, dev_t dev, MountTable *t) {
        _cleanup_(mount_entry_done) MountEntry entry = {};
        const char *starts[64];
        size_t lengths[64], n, sep;
        bool is_nsfs;
        int r;

        if (mountinfo_parse_head(line, size, &entry.id, &entry.dev) < 0)
                return 0;
        n = split_fields(line, line + size, starts, lengths, ELEMENTSOF(starts));
        if (n < 10)
                return 0;

        for (sep = 6; sep < n; sep++)
                if (lengths[sep] == 1 && starts[sep][0] == '-')
                        break;
        if (sep + 3 > n)
                return 0;
        is_nsfs = lengths[sep + 1] == 4 && memcmp(starts[sep + 1], "nsfs", 4) == 0;
        if (dev != MOUNT_DEV_ANY && entry.dev != dev && !is_nsfs)
                return 0;

        entry.root = unescape_field(starts[3], lengths[3]);
        entry.mount_point = unescape_field(starts[4], lengths[4]);
        entry.fstype = unescape_field(starts[sep + 1], lengths[sep + 1]);
        entry.source = unescape_field(starts[sep + 2], lengths[sep + 2]);
        if (!entry.root || !entry.mount_point || !entry.fstype || !entry.source)
                return -ENOMEM;
        /* A pin of some other namespace type is not ours to follow. */
        if (is_nsfs && nsfs_name_parse(entry.root, "mnt", &entry.pinned_mntns) < 0)
                return 0;

        r = mount_table_add(t, &entry);
        return r < 0 ? r : 1;
}

int mount_table_parse_mountinfo(const char *buf, size_t size, dev_t dev, MountTable *t) {
        const char *p = buf, *line;
        size_t n;

        while (mountinfo_next_line(&p, buf + size, &line, &n)) {
                int r = parse_line(line, n, dev, t);

                if (r < 0)
                        return r;
        }
        return 0;
}

int mount_table_read_mountinfo(int proc_fd, pid_t pid, dev_t dev, MountTable *t) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        /* 100,000 mounts (the default fs.mount-max) at ~150 bytes a line. */
        r = proc_read_file(proc_fd, pid, "mountinfo", 64 * 1024 * 1024, &buf, &size);
        if (r < 0)
                return r;
        return mount_table_parse_mountinfo(buf, size, dev, t);
}

_noreturn_ static void setns_child(int mntns_fd, int ready_fd, int wait_fd, int parent_end) {
        char c;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Our copy of the write end would keep the read below from ever
         * seeing EOF. */
        safe_close(parent_end);
        if (setns(mntns_fd, CLONE_NEWNS) < 0)
                _exit(EXIT_FAILURE);
        if (write(ready_fd, "r", 1) != 1)
                _exit(EXIT_FAILURE);
        /* Stay in the namespace until the parent has read our mountinfo. */
        (void) read(wait_fd, &c, 1);
        _exit(EXIT_SUCCESS);
}

int mount_table_read_setns(int mntns_fd, dev_t dev, MountTable *t) {
        _cleanup_close_ int ready_r = -EBADF, ready_w = -EBADF, wait_r = -EBADF, wait_w = -EBADF;
        char c;
        int fds[2], r, status;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        ready_r = fds[0];
        ready_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        wait_r = fds[0];
        wait_w = fds[1];

        /* The child joins the namespace and we read its mountinfo through our
         * own /proc: the namespace need not have a /proc of its own. */
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                setns_child(mntns_fd, ready_w, wait_r, wait_w);

        ready_w = safe_close(ready_w);
        wait_r = safe_close(wait_r);
        if (read(ready_r, &c, 1) == 1)
                r = mount_table_read_mountinfo(AT_FDCWD, pid, dev, t);
        else
                r = -EPERM; /* setns() refused */
        wait_w = safe_close(wait_w);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return r < 0 ? r : negative_errno();
        return r;
}
