/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/PID/mountinfo into a MountTable: the parser (a cheap filter by
 * device, then libmount for the lines kept), which does no I/O so fixtures
 * can test it, and the two ways to the text of a namespace. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmount/libmount.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/mountinfo.h"
#include "holders/proc-util.h"

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

/* The cheap question asked of every line, before anything is allocated:
 * is it a mount of dev, or an nsfs mount? The kernel escapes blanks inside
 * fields, so " - nsfs " can only be the separator and the type. */
static bool line_wanted(const char *line, size_t size, dev_t dev) {
        dev_t line_dev;

        if (mountinfo_parse_head(line, size, NULL, &line_dev) < 0)
                return false;
        return dev == MOUNT_DEV_ANY || line_dev == dev || memmem(line, size, " - nsfs ", 8);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter);

static int strdup_or_empty(const char *s, char **ret) {
        *ret = strdup(s ?: "");
        return *ret ? 0 : -ENOMEM;
}

/* One mount libmount read. Returns 1 if kept, 0 if not ours. */
static int table_add_fs(struct libmnt_fs *fs, dev_t dev, MountTable *t) {
        _cleanup_(mount_entry_done) MountEntry entry = {
                /* mountinfo's ids are 32 bits; libmount keeps them in an int */
                .id = (uint32_t) mnt_fs_get_id(fs),
                .dev = mnt_fs_get_devno(fs),
        };
        const char *fstype = mnt_fs_get_fstype(fs), *root = mnt_fs_get_root(fs);
        bool is_nsfs = streq_ptr(fstype, "nsfs");
        int r;

        if ((dev != MOUNT_DEV_ANY && entry.dev != dev && !is_nsfs) || !root)
                return 0;
        /* A pin of some other namespace type is not ours to follow. */
        if (is_nsfs && nsfs_name_parse(root, "mnt", &entry.pinned_mntns) < 0)
                return 0;
        if (strdup_or_empty(root, &entry.root) < 0 ||
            strdup_or_empty(mnt_fs_get_target(fs), &entry.mount_point) < 0 ||
            strdup_or_empty(fstype, &entry.fstype) < 0 ||
            strdup_or_empty(mnt_fs_get_source(fs), &entry.source) < 0)
                return -ENOMEM;
        r = mount_table_add(t, &entry);
        return r < 0 ? r : 1;
}

/* libmount reads the fields of the lines we want. A line it cannot read is
 * skipped (libmount's default): one bad line must not hide the others. */
static int parse_wanted(char *text, size_t size, dev_t dev, MountTable *t) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        struct libmnt_fs *fs;
        int r;

        f = fmemopen(text, size, "r");
        if (!f)
                return negative_errno();
        tb = mnt_new_table();
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!tb || !it)
                return -ENOMEM;
        /* Every line starts with two numbers, so libmount reads the text as
         * mountinfo. The name is for its debug messages; it also resolves
         * it as a path to find a PID in /proc/PID/mountinfo, and this one
         * names none. */
        r = mnt_table_parse_stream(tb, f, "mountinfo");
        if (r < 0)
                return r;
        while (mnt_table_next_fs(tb, it, &fs) == 0) {
                r = table_add_fs(fs, dev, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mount_table_parse_mountinfo(const char *buf, size_t size, dev_t dev, MountTable *t) {
        _cleanup_free_ char *wanted = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        const char *p = buf, *line;
        size_t n, wanted_size = 0;

        /* Most lines of a big table are of other devices: they are skipped
         * by the head alone, and only the rest goes to libmount, which
         * would allocate every field of every line (bench-mountinfo). */
        f = open_memstream(&wanted, &wanted_size);
        if (!f)
                return -ENOMEM;
        while (mountinfo_next_line(&p, buf + size, &line, &n))
                if (line_wanted(line, n, dev) &&
                    (fwrite(line, 1, n, f) != n || fputc('\n', f) == EOF))
                        return -ENOMEM;
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        if (wanted_size == 0)
                return 0;
        return parse_wanted(wanted, wanted_size, dev, t);
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
