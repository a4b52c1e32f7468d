/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MountTable itself, and its listmount side: listmount()/statmount() and
 * the nsfs namespace walk where the kernel has them (mountinfo.c reads the
 * text every kernel has). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/macro.h"
#include "holders/mount-table.h"

static const char *const mount_source_names[_MOUNT_SOURCE_MAX] = {
        [MOUNT_SOURCE_AUTO] = "auto",
        [MOUNT_SOURCE_LISTMOUNT] = "listmount",
        [MOUNT_SOURCE_MOUNTINFO] = "mountinfo",
};

const char *mount_source_to_string(MountSource s) {
        return s >= 0 && s < _MOUNT_SOURCE_MAX ? mount_source_names[s] : NULL;
}

MountSource mount_source_from_string(const char *s) {
        for (MountSource i = 0; i < _MOUNT_SOURCE_MAX; i++)
                if (s && strcmp(s, mount_source_names[i]) == 0)
                        return i;
        return -EINVAL;
}

void mount_entry_done(MountEntry *e) {
        free(e->root);
        free(e->mount_point);
        free(e->fstype);
        free(e->source);
}

void mount_table_done(MountTable *t) {
        for (size_t i = 0; i < t->n_entries; i++)
                mount_entry_done(&t->entries[i]);
        free(t->entries);
        *t = (MountTable) {};
}

int mount_table_add(MountTable *t, MountEntry *e) {
        if (ARRAY_RESERVE(t->entries, t->n_entries_allocated, t->n_entries + 1) < 0)
                return -ENOMEM;
        t->entries[t->n_entries++] = *e;
        *e = (MountEntry) {};
        return 0;
}

int nsfs_name_parse(const char *s, const char *type, uint64_t *ret) {
        size_t l = strlen(type);
        unsigned long long v;
        char *end;

        if (strncmp(s, type, l) != 0 || s[l] != ':' || s[l + 1] != '[')
                return -EINVAL;
        s += l + 2;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || strcmp(end, "]") != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Debian 12's headers predate all of this (Linux 6.8 to 6.12), so the
 * interface is spelled out here; the numbers are the same on every
 * architecture that uses the generic syscall table and on x86-64. */
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#ifndef NSIO
#define NSIO 0xb7
#endif
#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID _IOR(NSIO, 0x5, uint64_t)
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define DMW_LSMT_ROOT UINT64_C(0xffffffffffffffff)
#define DMW_STATMOUNT_SB_BASIC   0x0001U
#define DMW_STATMOUNT_MNT_ROOT   0x0008U
#define DMW_STATMOUNT_MNT_POINT  0x0010U
#define DMW_STATMOUNT_FS_TYPE    0x0020U
#define DMW_STATMOUNT_SB_SOURCE  0x0200U

/* Own names, so a future <linux/mount.h> or <linux/nsfs.h> cannot clash. */
struct dmw_mnt_id_req {
        uint32_t size;
        uint32_t spare;
        uint64_t mnt_id;
        uint64_t param;
        uint64_t mnt_ns_id;
};
#define DMW_MNT_ID_REQ_SIZE_VER1 32

struct dmw_mnt_ns_info {
        uint32_t size;
        uint32_t nr_mounts;
        uint64_t mnt_ns_id;
};
#define DMW_NS_MNT_GET_INFO _IOR(NSIO, 10, struct dmw_mnt_ns_info)
#define DMW_NS_MNT_GET_NEXT _IOR(NSIO, 11, struct dmw_mnt_ns_info)
#define DMW_NS_MNT_GET_PREV _IOR(NSIO, 12, struct dmw_mnt_ns_info)

/* The fixed 512-byte head of struct statmount; strings follow it and the
 * [str] fields are offsets into them. */
struct dmw_statmount {
        uint32_t size;
        uint32_t mnt_opts;
        uint64_t mask;
        uint32_t sb_dev_major;
        uint32_t sb_dev_minor;
        uint64_t sb_magic;
        uint32_t sb_flags;
        uint32_t fs_type;
        uint64_t mnt_id;
        uint64_t mnt_parent_id;
        uint32_t mnt_id_old;
        uint32_t mnt_parent_id_old;
        uint64_t mnt_attr;
        uint64_t mnt_propagation;
        uint64_t mnt_peer_group;
        uint64_t mnt_master;
        uint64_t propagate_from;
        uint32_t mnt_root;
        uint32_t mnt_point;
        uint64_t mnt_ns_id;
        uint32_t fs_subtype;
        uint32_t sb_source;
        uint8_t padding[512 - 128];
        char str[];
};
_Static_assert(sizeof(struct dmw_statmount) == 512, "statmount head must be 512 bytes");

static long sys_listmount(const struct dmw_mnt_id_req *req, uint64_t *ids, size_t n) {
        return syscall(__NR_listmount, req, ids, n, 0);
}

static int sys_statmount(uint64_t mnt_id, uint64_t ns_id, uint64_t mask, struct dmw_statmount *buf, size_t size) {
        struct dmw_mnt_id_req req = {
                .size = DMW_MNT_ID_REQ_SIZE_VER1,
                .mnt_id = mnt_id,
                .param = mask,
                .mnt_ns_id = ns_id,
        };

        if (syscall(__NR_statmount, &req, buf, size, 0) < 0)
                return negative_errno();
        return 0;
}

int mount_ns_get_id(int mntns_fd, uint64_t *ret) {
        uint64_t id = 0;

        if (ioctl(mntns_fd, NS_GET_MNTNS_ID, &id) < 0)
                return negative_errno();
        *ret = id;
        return 0;
}

bool mount_source_listmount_supported(void) {
        _cleanup_close_ int fd = -EBADF;
        struct dmw_mnt_ns_info info = { .size = sizeof(info) };
        struct dmw_mnt_id_req req = { .size = DMW_MNT_ID_REQ_SIZE_VER1, .mnt_id = DMW_LSMT_ROOT };
        uint64_t id;

        fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        /* NS_MNT_GET_INFO came with the walk (6.12), after namespace ids in
         * listmount (6.11): if it works, everything we use does. */
        if (ioctl(fd, DMW_NS_MNT_GET_INFO, &info) < 0)
                return false;
        req.mnt_ns_id = info.mnt_ns_id;
        return sys_listmount(&req, &id, 1) >= 0;
}

/* statmount() into *buf, growing it while the strings do not fit. */
static int statmount_grow(uint64_t mnt_id, uint64_t ns_id, uint64_t mask,
                          struct dmw_statmount **buf, size_t *size) {
        for (;;) {
                int r = sys_statmount(mnt_id, ns_id, mask, *buf, *size);
                struct dmw_statmount *grown;

                if (r != -EOVERFLOW)
                        return r;
                if (*size >= 16 * 1024 * 1024)
                        return r;
                grown = realloc(*buf, *size * 2);
                if (!grown)
                        return -ENOMEM;
                *buf = grown;
                *size *= 2;
        }
}

static int strdup_field(const struct dmw_statmount *sm, uint64_t flag, uint32_t offset, char **ret) {
        if (!(sm->mask & flag)) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(sm->str + offset);
        return *ret ? 0 : -ENOMEM;
}

/* The strings of one mount we keep; returns 0 if it went away meanwhile. */
static int statmount_entry(uint64_t mnt_id, uint64_t ns_id, struct dmw_statmount **buf, size_t *size,
                           MountTable *t) {
        uint64_t mask = DMW_STATMOUNT_SB_BASIC | DMW_STATMOUNT_MNT_ROOT | DMW_STATMOUNT_MNT_POINT |
                        DMW_STATMOUNT_FS_TYPE | DMW_STATMOUNT_SB_SOURCE;
        _cleanup_(mount_entry_done) MountEntry e = { .id = mnt_id };
        const struct dmw_statmount *sm;
        int r;

        r = statmount_grow(mnt_id, ns_id, mask, buf, size);
        if (r == -EINVAL) /* before 6.13 there is no source to ask for */
                r = statmount_grow(mnt_id, ns_id, mask & ~DMW_STATMOUNT_SB_SOURCE, buf, size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        sm = *buf;
        e.dev = makedev(sm->sb_dev_major, sm->sb_dev_minor);
        if (strdup_field(sm, DMW_STATMOUNT_MNT_ROOT, sm->mnt_root, &e.root) < 0 ||
            strdup_field(sm, DMW_STATMOUNT_MNT_POINT, sm->mnt_point, &e.mount_point) < 0 ||
            strdup_field(sm, DMW_STATMOUNT_FS_TYPE, sm->fs_type, &e.fstype) < 0 ||
            strdup_field(sm, DMW_STATMOUNT_SB_SOURCE, sm->sb_source, &e.source) < 0)
                return -ENOMEM;
        if (!e.root || !e.mount_point || !e.fstype)
                return -EIO;
        if (sm->sb_magic == NSFS_MAGIC && nsfs_name_parse(e.root, "mnt", &e.pinned_mntns) < 0)
                return 0; /* a pin of another namespace type */

        r = mount_table_add(t, &e);
        return r < 0 ? r : 1;
}

int mount_table_read_listmount(uint64_t mntns_id, dev_t dev, MountTable *t) {
        _cleanup_free_ struct dmw_statmount *buf = NULL;
        size_t size = 4096;
        uint64_t ids[512], last = 0;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                struct dmw_mnt_id_req req = {
                        .size = DMW_MNT_ID_REQ_SIZE_VER1,
                        .mnt_id = DMW_LSMT_ROOT,
                        .param = last,
                        .mnt_ns_id = mntns_id,
                };
                long n;

                n = sys_listmount(&req, ids, ELEMENTSOF(ids));
                if (n < 0)
                        return negative_errno();

                for (long i = 0; i < n; i++) {
                        int r;

                        /* The cheap question first: which device, and is it nsfs. */
                        r = sys_statmount(ids[i], mntns_id, DMW_STATMOUNT_SB_BASIC, buf, size);
                        if (r == -ENOENT)
                                continue; /* unmounted meanwhile */
                        if (r < 0)
                                return r;
                        if (dev != MOUNT_DEV_ANY && makedev(buf->sb_dev_major, buf->sb_dev_minor) != dev &&
                            buf->sb_magic != NSFS_MAGIC)
                                continue;

                        r = statmount_entry(ids[i], mntns_id, &buf, &size, t);
                        if (r < 0)
                                return r;
                }
                if ((size_t) n < ELEMENTSOF(ids))
                        return 0;
                last = ids[n - 1];
        }
}

int mount_ns_walk(mount_ns_walk_func_t f, void *userdata) {
        _cleanup_close_ int self = -EBADF;
        struct dmw_mnt_ns_info info = { .size = sizeof(info) };
        struct stat st;
        int r;

        self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return negative_errno();
        if (ioctl(self, DMW_NS_MNT_GET_INFO, &info) < 0)
                return negative_errno();
        if (fstat(self, &st) < 0)
                return negative_errno();
        r = f(self, info.mnt_ns_id, st.st_ino, userdata);
        if (r < 0)
                return r;

        /* The kernel keeps namespaces in a list ordered by id; walk both ways
         * from ours, holding only the current one open. */
        for (int dir = 0; dir < 2; dir++) {
                unsigned long request = dir == 0 ? DMW_NS_MNT_GET_PREV : DMW_NS_MNT_GET_NEXT;
                _cleanup_close_ int cur = -EBADF;

                for (;;) {
                        int next = ioctl(cur >= 0 ? cur : self, request, &info);

                        if (next < 0) {
                                if (errno == ENOENT)
                                        break;
                                return negative_errno();
                        }
                        safe_close(cur);
                        cur = next;
                        if (fstat(cur, &st) < 0)
                                return negative_errno();
                        r = f(cur, info.mnt_ns_id, st.st_ino, userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
