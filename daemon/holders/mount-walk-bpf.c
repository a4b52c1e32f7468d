/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "holders/bpf-iterator.h"
#include "holders/bpf/mount-walk-record.h"
#include "holders/mount-walk-bpf.h"
/* Generated code, with bpftool's habits (arithmetic on void *). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpointer-arith"
#include "holders/mount-walk.lskel.h"
#pragma GCC diagnostic pop

struct mount_walk *mount_walk_bpf_open(void) {
        struct mount_walk *m;
        int r;

        m = mount_walk__open();
        if (!m)
                return NULL;
        r = mount_walk__load(m);
        if (r >= 0)
                r = mount_walk__attach(m);
        if (r < 0) {
                log_debug_errno(r, "Cannot load the BPF mount walk (kernel 5.17 or later), "
                                "scans read every mount namespace's table: %m");
                mount_walk__destroy(m);
                return NULL;
        }
        return m;
}

void mount_walk_bpf_destroy(struct mount_walk *m) {
        if (m)
                mount_walk__destroy(m);
}

int mount_walk_bpf_wanted_fd(const struct mount_walk *m) {
        return m->maps.wanted_devs.map_fd;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return (x > y) - (x < y);
}

static void log_incomplete(const struct mount_walk_record *records, size_t n) {
        static const char *const whys[] = {
                [MOUNT_WALK_WHY_UNREADABLE] = "a link could not be read",
                [MOUNT_WALK_WHY_UNLINKED] = "a node was unlinked under it",
                [MOUNT_WALK_WHY_FULL] = "more records than one read takes",
                [MOUNT_WALK_WHY_TOO_LONG] = "more steps than its bound",
        };
        __u32 id = n > 0 && records[n - 1].kind == MOUNT_WALK_INCOMPLETE ? records[n - 1].id : 0;
        const char *why = (id & 15) < ELEMENTSOF(whys) ? whys[id & 15] : NULL;

        log_debug("The BPF mount walk did not see every mount and inode (%s, in phase %u after %u steps), "
                  "reading every table and mapping.", why ?: "no reason given", (id >> 4) & 15, id >> 8);
}

int mount_walk_bpf_collect(struct mount_walk *m, TaskWalkResult *res) {
        _cleanup_free_ struct mount_walk_record *records = NULL;
        size_t n = 0, u = 0;
        bool mapped = false;
        int r;

        r = bpf_iterator_read(m->links.walk_mounts_fd, sizeof(struct mount_walk_record), (void **) &records, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug_errno(r, "Cannot read the BPF mount walk, reading every table and mapping: %m");
                return 0;
        }
        if (n == 0 || records[n - 1].kind != MOUNT_WALK_DONE) {
                log_incomplete(records, n);
                return 0;
        }
        res->mounting = calloc(n, sizeof(uint64_t));
        if (!res->mounting)
                return -ENOMEM;
        for (size_t i = 0; i + 1 < n; i++)
                if (records[i].kind == MOUNT_WALK_MAPPED)
                        mapped = true;
                else
                        res->mounting[u++] = records[i].id;
        qsort(res->mounting, u, sizeof(uint64_t), cmp_u64);
        res->n_mounting = 0;
        for (size_t i = 0; i < u; i++)
                if (res->n_mounting == 0 || res->mounting[i] != res->mounting[res->n_mounting - 1])
                        res->mounting[res->n_mounting++] = res->mounting[i];
        res->mounts_known = true;
        res->unmapped = !mapped;
        return 0;
}
