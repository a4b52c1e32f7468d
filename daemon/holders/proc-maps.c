/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "basic/macro.h"
#include "basic/strv.h"
#include "holders/proc-maps.h"
#include "holders/proc-util.h"

/* From linux/fs.h of 6.11; older headers lack it. */
struct dmw_procmap_query {
        uint64_t size;
        uint64_t query_flags;
        uint64_t query_addr;
        uint64_t vma_start;
        uint64_t vma_end;
        uint64_t vma_flags;
        uint64_t vma_page_size;
        uint64_t vma_offset;
        uint64_t inode;
        uint32_t dev_major;
        uint32_t dev_minor;
        uint32_t vma_name_size;
        uint32_t build_id_size;
        uint64_t vma_name_addr;
        uint64_t build_id_addr;
};
#define DMW_PROCMAP_QUERY _IOWR('f', 17, struct dmw_procmap_query)
#define DMW_PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define DMW_PROCMAP_QUERY_FILE_BACKED_VMA 0x20

/* Text of maps is the fallback: on a busy process it is megabytes of
 * formatted paths we mostly throw away. */
static int paths_from_text(int proc_fd, pid_t pid, dev_t dev, char ***ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = proc_read_file(proc_fd, pid, "maps", 256 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        return proc_maps_parse(buf, dev, ret);
}

/* The path of the VMA at addr, asked for only when it matched. */
static int vma_name(int maps_fd, uint64_t addr, char **ret) {
        char name[PATH_MAX];
        struct dmw_procmap_query q = {
                .size = sizeof(q),
                .query_addr = addr,
                .vma_name_size = sizeof(name),
                .vma_name_addr = (uint64_t) (uintptr_t) name,
        };

        if (ioctl(maps_fd, DMW_PROCMAP_QUERY, &q) < 0)
                return negative_errno();
        *ret = strdup(q.vma_name_size > 0 ? name : "");
        return *ret ? 0 : -ENOMEM;
}

/* -ENOTTY where the kernel has no PROCMAP_QUERY. */
static int paths_from_query(int maps_fd, dev_t dev, char ***ret) {
        _cleanup_strv_free_ char **paths = calloc(1, sizeof(char *));
        uint64_t addr = 0;
        int r;

        if (!paths)
                return -ENOMEM;
        for (;;) {
                struct dmw_procmap_query q = {
                        .size = sizeof(q),
                        .query_flags = DMW_PROCMAP_QUERY_COVERING_OR_NEXT_VMA | DMW_PROCMAP_QUERY_FILE_BACKED_VMA,
                        .query_addr = addr,
                };
                char *name = NULL;

                if (ioctl(maps_fd, DMW_PROCMAP_QUERY, &q) < 0) {
                        if (errno == ENOENT)
                                break; /* no VMA at or after addr */
                        return negative_errno();
                }
                addr = q.vma_end;
                if (makedev(q.dev_major, q.dev_minor) != dev)
                        continue;
                r = vma_name(maps_fd, q.vma_start, &name);
                if (r == -ENOENT)
                        continue; /* unmapped meanwhile */
                if (r < 0)
                        return r;
                if (strv_contains(paths, name)) {
                        free(name);
                        continue;
                }
                r = strv_consume(&paths, name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(paths);
        return 0;
}

int proc_maps_paths(int proc_fd, pid_t pid, dev_t dev, char ***ret) {
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        int r;

        (void) snprintf(path, sizeof(path), "%d/maps", (int) pid);
        fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = paths_from_query(fd, dev, ret);
        if (r != -ENOTTY && r != -EINVAL)
                return r;
        /* An older kernel, or a fixture file. */
        return paths_from_text(proc_fd, pid, dev, ret);
}
