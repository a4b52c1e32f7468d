/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "macro.h"
#include "mount-table.h"
#include "proc-files.h"
#include "proc-util.h"
#include "strv.h"

void holder_ref_done(HolderRef *r) {
        free(r->path);
        r->path = NULL;
}

void proc_files_done(ProcFiles *f) {
        for (size_t i = 0; i < f->n_refs; i++)
                holder_ref_done(&f->refs[i]);
        free(f->refs);
        free(f->ns_fds);
        *f = (ProcFiles) {};
}

/* Takes path, also on failure. */
static int add_ref(ProcFiles *f, HolderRefKind kind, int fd, char *path) {
        HolderRef *grown = reallocarray(f->refs, f->n_refs + 1, sizeof(HolderRef));

        if (!grown) {
                free(path);
                return -ENOMEM;
        }
        f->refs = grown;
        f->refs[f->n_refs++] = (HolderRef) { .kind = kind, .fd = fd, .path = path };
        return 0;
}

/* statx() that never waits for a filesystem: a hung FUSE or NFS server
 * must not hang the scan, and the device number needs no fresh attributes. */
static int stat_dont_sync(int dir_fd, const char *path, struct statx *stx) {
        if (statx(dir_fd, path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, stx) < 0)
                return negative_errno();
        return 0;
}

static dev_t statx_dev(const struct statx *stx) {
        return makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

/* cwd, root, exe. The first error decides whether we may look at all. */
static int scan_links(int proc_fd, pid_t pid, dev_t dev, ProcFiles *f) {
        static const struct {
                const char *name;
                HolderRefKind kind;
        } links[] = {
                { "cwd", HOLDER_REF_CWD },
                { "root", HOLDER_REF_ROOT },
                { "exe", HOLDER_REF_EXE },
        };

        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                char path[48], *target = NULL;
                struct statx stx;
                int r;

                (void) snprintf(path, sizeof(path), "%d/%s", (int) pid, links[i].name);
                r = stat_dont_sync(proc_fd, path, &stx);
                if (r < 0) {
                        if (i == 0)
                                return r;
                        continue; /* kernel threads have no exe */
                }
                if (statx_dev(&stx) != dev)
                        continue;
                (void) readlink_malloc_at(proc_fd, path, &target);
                r = add_ref(f, links[i].kind, -1, target);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_ns_fd(ProcFiles *f, pid_t pid, int fd, uint64_t mntns) {
        ProcNsFd *grown = reallocarray(f->ns_fds, f->n_ns_fds + 1, sizeof(ProcNsFd));

        if (!grown)
                return -ENOMEM;
        f->ns_fds = grown;
        f->ns_fds[f->n_ns_fds++] = (ProcNsFd) { .pid = pid, .fd = fd, .mntns = mntns };
        return 0;
}

static int scan_fds(int proc_fd, pid_t pid, dev_t dev, dev_t nsfs_dev, ProcFiles *f) {
        _cleanup_close_ int dir_fd = -EBADF;
        DIR *d;
        struct dirent *de;
        char path[32];
        int r = 0;

        (void) snprintf(path, sizeof(path), "%d/fd", (int) pid);
        dir_fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        d = fdopendir(dir_fd);
        if (!d)
                return negative_errno();
        dir_fd = -EBADF; /* owned by d now */

        while (r >= 0 && (de = readdir(d))) {
                struct statx stx;
                char *end, *target = NULL;
                long fd;

                fd = strtol(de->d_name, &end, 10);
                if (de->d_name[0] == '.' || *end != 0)
                        continue;
                if (stat_dont_sync(dirfd(d), de->d_name, &stx) < 0)
                        continue; /* closed meanwhile, or a dangling fixture */

                if (S_ISBLK(stx.stx_mode) && makedev(stx.stx_rdev_major, stx.stx_rdev_minor) == dev) {
                        (void) readlink_malloc_at(dirfd(d), de->d_name, &target);
                        r = add_ref(f, HOLDER_REF_DEVICE_NODE, (int) fd, target);
                } else if (statx_dev(&stx) == dev) {
                        (void) readlink_malloc_at(dirfd(d), de->d_name, &target);
                        r = add_ref(f, HOLDER_REF_FD, (int) fd, target);
                } else if (nsfs_dev != 0 && statx_dev(&stx) == nsfs_dev) {
                        _cleanup_free_ char *name = NULL;
                        uint64_t ino;

                        if (readlink_malloc_at(dirfd(d), de->d_name, &name) >= 0 &&
                            nsfs_name_parse(name, "mnt", &ino) >= 0)
                                r = add_ns_fd(f, pid, (int) fd, ino);
                }
        }
        closedir(d);
        return r;
}

static int scan_maps(int proc_fd, pid_t pid, dev_t dev, ProcFiles *f) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *buf = NULL;
        char path[32];
        int r;

        (void) snprintf(path, sizeof(path), "%d/maps", (int) pid);
        r = read_full_at(proc_fd, path, 256 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        r = proc_maps_parse(buf, dev, &paths);
        if (r < 0)
                return r;
        for (char **p = paths; *p; p++) {
                char *copy = strdup(*p);

                if (!copy)
                        return -ENOMEM;
                r = add_ref(f, HOLDER_REF_MAP, -1, copy);
                if (r < 0)
                        return r;
        }
        return 0;
}

int proc_files_scan(int proc_fd, pid_t pid, dev_t dev, dev_t nsfs_dev, ProcFiles *f) {
        int r;

        r = scan_links(proc_fd, pid, dev, f);
        if (r < 0)
                return r;
        r = scan_fds(proc_fd, pid, dev, nsfs_dev, f);
        if (r == -ENOMEM)
                return r;
        r = scan_maps(proc_fd, pid, dev, f);
        if (r == -ENOMEM)
                return r;
        return 0;
}
