/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/array.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "holders/mntns-set.h"
#include "holders/mountinfo.h"
#include "holders/nsfs-open.h"
#include "holders/proc-util.h"

void mntns_set_done(MntnsSet *s) {
        for (size_t i = 0; i < s->n_ns; i++) {
                mount_table_done(&s->ns[i].table);
                for (size_t j = 0; j < s->ns[i].n_pins; j++)
                        free(s->ns[i].pins[j].path);
                free(s->ns[i].pins);
        }
        free(s->ns);
        s->ns = NULL;
        s->n_ns = s->n_ns_allocated = 0;
}

/* Namespaces number in the hundreds even on busy hosts; a linear search
 * costs less than keeping an index in step with the additions. */
int mntns_set_find(const MntnsSet *s, uint64_t ino) {
        for (size_t i = 0; i < s->n_ns; i++)
                if (s->ns[i].ino == ino)
                        return (int) i;
        return -ENOENT;
}

int mntns_set_add(MntnsSet *s, uint64_t ino) {
        int i;

        i = mntns_set_find(s, ino);
        if (i >= 0)
                return i;
        if (ARRAY_RESERVE(s->ns, s->n_ns_allocated, s->n_ns + 1) < 0)
                return -ENOMEM;
        s->ns[s->n_ns] = (MntnsInfo) { .ino = ino, .fd_num = -1 };
        return (int) s->n_ns++;
}

/* The root a bind mount in namespace c is seen from: ours, or a member's. */
static int open_pin_root(const MntnsSet *s, size_t c) {
        char path[32];
        int fd;

        if (s->ns[c].ino == s->self)
                fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        else if (s->ns[c].n_members > 0) {
                (void) snprintf(path, sizeof(path), "%d/root", (int) s->ns[c].members[0]);
                fd = openat(s->proc_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        } else
                return -ENXIO;
        return fd < 0 ? negative_errno() : fd;
}

/* An nsfs fd for namespace i, through whatever reaches it. Every path here
 * may have been replaced since it was seen (the fd closed and reused, the
 * pin covered by a FIFO or a link): none is opened for real before it
 * proved to be the namespace. */
static int open_ns(const MntnsSet *s, size_t i) {
        const MntnsInfo *ns = &s->ns[i];
        char path[64];
        int fd;

        for (size_t m = 0; m < ns->n_members; m++) {
                (void) snprintf(path, sizeof(path), "%d/ns/mnt", (int) ns->members[m]);
                fd = nsfs_open_link(s->proc_fd, path, ns->ino);
                if (fd >= 0)
                        return fd;
        }
        if (ns->fd_pid > 0) {
                (void) snprintf(path, sizeof(path), "%d/fd/%d", (int) ns->fd_pid, ns->fd_num);
                fd = nsfs_open_link(s->proc_fd, path, ns->ino);
                if (fd >= 0)
                        return fd;
        }
        for (size_t p = 0; p < ns->n_pins; p++) {
                _cleanup_close_ int root_fd = -EBADF;
                int c = mntns_set_find(s, ns->pins[p].mntns);

                if (c < 0)
                        continue;
                root_fd = open_pin_root(s, (size_t) c);
                if (root_fd < 0)
                        continue;
                fd = nsfs_open_in_root(root_fd, ns->pins[p].path, ns->ino);
                if (fd >= 0)
                        return fd;
                log_debug_errno(fd, "Cannot use %s as a pin of mnt:[%llu], ignoring: %m", ns->pins[p].path,
                                (unsigned long long) ns->ino);
        }
        return -ENXIO;
}

static int read_table_listmount(MntnsSet *s, size_t i) {
        if (s->ns[i].id == 0) {
                _cleanup_close_ int fd = open_ns(s, i);
                int r;

                if (fd < 0)
                        return fd;
                r = mount_ns_get_id(fd, &s->ns[i].id);
                if (r < 0)
                        return r;
        }
        return mount_table_read_listmount(s->ns[i].id, s->dev, &s->ns[i].table);
}

static int read_table_mountinfo(MntnsSet *s, size_t i) {
        MntnsInfo *ns = &s->ns[i];
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* Cheapest first: a member's mountinfo; members may exit meanwhile. */
        for (size_t m = 0; m < ns->n_members; m++) {
                r = mount_table_read_mountinfo(s->proc_fd, ns->members[m], s->dev, &ns->table);
                if (r >= 0 || !proc_error_is_vanished(r))
                        return r;
        }

        fd = open_ns(s, i);
        if (fd < 0)
                return fd;
        return mount_table_read_setns(fd, s->dev, &ns->table);
}

/* Records the bind mounts in namespace i's table as pins of the namespaces
 * they pin, adding those to the set. */
static int note_pins(MntnsSet *s, size_t i) {
        for (size_t e = 0; e < s->ns[i].table.n_entries; e++) {
                const MountEntry *m = &s->ns[i].table.entries[e];
                MntnsInfo *pinned;
                char *path;
                int t;

                if (m->pinned_mntns == 0)
                        continue;
                t = mntns_set_add(s, m->pinned_mntns);
                if (t < 0)
                        return t;
                m = &s->ns[i].table.entries[e]; /* s->ns may have moved */
                path = strdup(m->mount_point);
                if (!path)
                        return -ENOMEM;
                pinned = &s->ns[t];
                if (ARRAY_RESERVE(pinned->pins, pinned->n_pins_allocated, pinned->n_pins + 1) < 0) {
                        free(path);
                        return -ENOMEM;
                }
                pinned->pins[pinned->n_pins++] = (HolderPin) {
                        .kind = HOLDER_PIN_MOUNT,
                        .mntns = s->ns[i].ino,
                        .path = path,
                        .fd = -1,
                };
        }
        return 0;
}

/* Whether the mount walk already showed namespace i to have nothing to
 * read: then it is scanned, its table empty. */
static bool clear_by_walk(MntnsSet *s, size_t i) {
        if (!s->walked || !task_walk_result_mounts_nothing(s->walked, s->ns[i].ino))
                return false;
        s->ns[i].scanned = true;
        s->n_scanned++;
        s->n_cleared++;
        return true;
}

static int finish_read(MntnsSet *s, size_t i, int r) {
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug_errno(r, "Cannot read the mounts of mnt:[%llu], ignoring: %m",
                                (unsigned long long) s->ns[i].ino);
                s->ns[i].unreachable = true;
                s->n_unreachable++;
                return 0;
        }
        s->ns[i].scanned = true;
        s->n_scanned++;
        return note_pins(s, i);
}

static int walk_one(int mntns_fd, uint64_t mntns_id, uint64_t ino, void *userdata) {
        MntnsSet *s = userdata;
        int i;

        i = mntns_set_add(s, ino);
        if (i < 0)
                return i;
        if (s->ns[i].scanned)
                return 0;
        s->ns[i].id = mntns_id;
        if (clear_by_walk(s, (size_t) i))
                return 0;
        return finish_read(s, (size_t) i, mount_table_read_listmount(mntns_id, s->dev, &s->ns[i].table));
}

int mntns_set_scan(MntnsSet *s, MountSource source) {
        bool progress = true;
        int r;

        if (source == MOUNT_SOURCE_LISTMOUNT) {
                r = mount_ns_walk(walk_one, s);
                if (r < 0)
                        return r;
        }

        /* What the walk did not list (or every namespace, for mountinfo),
         * until no newly found pin adds another. */
        while (progress) {
                progress = false;
                for (size_t i = 0; i < s->n_ns; i++) {
                        if (s->ns[i].scanned || s->ns[i].unreachable)
                                continue;
                        progress = true;
                        if (clear_by_walk(s, i))
                                continue;
                        r = source == MOUNT_SOURCE_LISTMOUNT ? read_table_listmount(s, i) : read_table_mountinfo(s, i);
                        r = finish_read(s, i, r);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
