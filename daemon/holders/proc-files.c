/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "basic/array.h"
#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "holders/mount-table.h"
#include "holders/proc-files.h"
#include "holders/proc-maps.h"
#include "holders/proc-util.h"

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

/* Takes ref.path, also on failure. */
static int add_ref(ProcFiles *f, HolderRef ref) {
        if (ARRAY_RESERVE(f->refs, f->n_refs_allocated, f->n_refs + 1) < 0) {
                free(ref.path);
                return -ENOMEM;
        }
        f->refs[f->n_refs++] = ref;
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

/* The links of /proc/PID that name a place; a thread has its own cwd and
 * root (the first two), never its own exe. */
static const struct {
        const char *name;
        HolderRefKind kind;
} links[] = {
        { "cwd", HOLDER_REF_CWD },
        { "root", HOLDER_REF_ROOT },
        { "exe", HOLDER_REF_EXE },
};
#define N_THREAD_LINKS 2

/* cwd, root, exe. The first error decides whether we may look at all. */
static int scan_links(int proc_fd, pid_t pid, dev_t dev, ProcFiles *f) {
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
                r = add_ref(f, (HolderRef) { .kind = links[i].kind, .fd = -1, .path = target });
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_ns_fd(ProcFiles *f, pid_t pid, int fd, uint64_t mntns) {
        if (ARRAY_RESERVE(f->ns_fds, f->n_ns_fds_allocated, f->n_ns_fds + 1) < 0)
                return -ENOMEM;
        f->ns_fds[f->n_ns_fds++] = (ProcNsFd) { .pid = pid, .fd = fd, .mntns = mntns };
        return 0;
}

int proc_files_move(ProcFiles *dst, ProcFiles *src) {
        int r;

        for (size_t i = 0; i < src->n_refs; i++) {
                r = add_ref(dst, src->refs[i]);
                src->refs[i].path = NULL; /* dst has it, or it is freed */
                if (r < 0)
                        return r;
        }
        src->n_refs = 0;
        for (size_t i = 0; i < src->n_ns_fds; i++) {
                r = add_ns_fd(dst, src->ns_fds[i].pid, src->ns_fds[i].fd, src->ns_fds[i].mntns);
                if (r < 0)
                        return r;
        }
        src->n_ns_fds = 0;
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
                        r = add_ref(f, (HolderRef) { .kind = HOLDER_REF_DEVICE_NODE, .fd = (int) fd, .path = target });
                } else if (statx_dev(&stx) == dev) {
                        (void) readlink_malloc_at(dirfd(d), de->d_name, &target);
                        r = add_ref(f, (HolderRef) { .kind = HOLDER_REF_FD, .fd = (int) fd, .path = target });
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
        int r;

        r = proc_maps_paths(proc_fd, pid, dev, &paths);
        if (r < 0)
                return r;
        for (char **p = paths; *p; p++) {
                char *copy = strdup(*p);

                if (!copy)
                        return -ENOMEM;
                r = add_ref(f, (HolderRef) { .kind = HOLDER_REF_MAP, .fd = -1, .path = copy });
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

/* Whether a and b are the same directory through the same mount: a thread
 * sharing its process's fs_struct, or one that happens to stand where the
 * process stands, which adds nothing to report. */
static bool same_place(const struct statx *a, const struct statx *b) {
        return a->stx_dev_major == b->stx_dev_major && a->stx_dev_minor == b->stx_dev_minor &&
               a->stx_ino == b->stx_ino && (a->stx_mask & b->stx_mask & STATX_MNT_ID) &&
               a->stx_mnt_id == b->stx_mnt_id;
}

/* The cwd and root of tid where they are on dev and not where pid's are. */
static int scan_thread_links(int proc_fd, pid_t pid, pid_t tid, dev_t dev, ProcFiles *f) {
        for (size_t i = 0; i < N_THREAD_LINKS; i++) {
                char path[48], process_path[48], *target = NULL;
                struct statx stx, process_stx;
                int r;

                (void) snprintf(path, sizeof(path), "%d/%s", (int) tid, links[i].name);
                if (statx(proc_fd, path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) < 0 ||
                    statx_dev(&stx) != dev)
                        continue; /* gone, not allowed, or elsewhere */
                (void) snprintf(process_path, sizeof(process_path), "%d/%s", (int) pid, links[i].name);
                if (statx(proc_fd, process_path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID,
                          &process_stx) >= 0 &&
                    same_place(&stx, &process_stx))
                        continue;
                (void) readlink_malloc_at(proc_fd, path, &target);
                r = add_ref(f, (HolderRef) { .kind = links[i].kind, .fd = -1, .path = target, .tid = tid });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether tid has a resource of its own rather than pid's: 0 shared, 1 its
 * own, < 0 the kernel would not say (no CONFIG_KCMP, or not allowed). */
static int kcmp_differs(pid_t pid, pid_t tid, int type) {
        long r = syscall(SYS_kcmp, pid, tid, type, 0UL, 0UL);

        if (r < 0)
                return negative_errno();
        return r != 0;
}

/* The fd table of a thread that has one of its own (unshare(CLONE_FILES)). */
static int scan_thread_fds(int proc_fd, pid_t tid, dev_t dev, dev_t nsfs_dev, ProcFiles *f) {
        _cleanup_(proc_files_done) ProcFiles own = {};
        int r;

        r = scan_fds(proc_fd, tid, dev, nsfs_dev, &own);
        if (r < 0)
                return r == -ENOMEM ? r : 0; /* exited meanwhile */
        for (size_t i = 0; i < own.n_refs; i++)
                own.refs[i].tid = tid;
        return proc_files_move(f, &own);
}

int proc_files_scan_thread(int proc_fd, pid_t pid, pid_t tid, dev_t dev, dev_t nsfs_dev, ProcFiles *f) {
        int r;

        /* Threads share their process's fs and fd table unless made without
         * CLONE_FS or CLONE_FILES, or unshared since: one kcmp() each says
         * so. Where the kernel will not say, the cwd and root are compared
         * by looking at them, and the fd table is taken as shared. */
        if (kcmp_differs(pid, tid, KCMP_FS) != 0) {
                r = scan_thread_links(proc_fd, pid, tid, dev, f);
                if (r < 0)
                        return r;
        }
        if (kcmp_differs(pid, tid, KCMP_FILES) > 0)
                return scan_thread_fds(proc_fd, tid, dev, nsfs_dev, f);
        return 0;
}
