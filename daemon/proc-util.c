/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "macro.h"
#include "mount-table.h"
#include "proc-util.h"
#include "strv.h"

int proc_parse_stat(const char *stat, pid_t *ret_ppid, unsigned *ret_flags) {
        const char *p = strrchr(stat, ')');
        unsigned flags;
        int ppid;
        char state;

        /* comm may contain ") ", so the last parenthesis ends it. Then:
         * state ppid pgrp session tty_nr tpgid flags. */
        if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %u", &state, &ppid, &flags) != 3 || ppid < 0)
                return -EINVAL;
        *ret_ppid = (pid_t) ppid;
        if (ret_flags)
                *ret_flags = flags;
        return 0;
}

static bool has_unit_suffix(const char *name, size_t n) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);

                if (n > l && memcmp(name + n - l, suffixes[i], l) == 0)
                        return true;
        }
        return false;
}

static bool is_slice(const char *name, size_t n) {
        return n > 6 && memcmp(name + n - 6, ".slice", 6) == 0;
}

/* The unit in a cgroup path such as /system.slice/foo.service/sub. */
static int unit_from_path(const char *path, size_t len, char **ret) {
        const char *p = path, *end = path + len;

        while (p < end) {
                const char *slash;
                size_t n;

                while (p < end && *p == '/')
                        p++;
                slash = memchr(p, '/', (size_t) (end - p));
                n = (size_t) ((slash ? slash : end) - p);
                if (n == 0)
                        break;
                if (!is_slice(p, n)) {
                        if (!has_unit_suffix(p, n))
                                break;
                        *ret = strndup(p, n);
                        return *ret ? 0 : -ENOMEM;
                }
                p += n;
        }
        *ret = NULL;
        return 0;
}

int cgroup_parse_unit(const char *cgroup, char **ret) {
        const char *v2 = NULL, *v1 = NULL;
        size_t v2_len = 0, v1_len = 0;

        /* Hybrid setups keep the unit tree in the named "systemd" v1
         * hierarchy; unified ones only have the "0::" line. */
        for (const char *line = cgroup; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);
                const char *path;

                if (n >= 3 && memcmp(line, "0::", 3) == 0) {
                        v2 = line + 3;
                        v2_len = n - 3;
                } else if ((path = memchr(line, ':', n)) && (size_t) (path - line) + 15 <= n &&
                           memcmp(path, ":name=systemd:", 14) == 0) {
                        v1 = path + 14;
                        v1_len = n - (size_t) (v1 - line);
                }
                line = nl ? nl + 1 : NULL;
        }

        if (v1)
                return unit_from_path(v1, v1_len, ret);
        if (v2)
                return unit_from_path(v2, v2_len, ret);
        *ret = NULL;
        return 0;
}

int proc_maps_parse(const char *maps, dev_t dev, char ***ret) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        paths = calloc(1, sizeof(char *));
        if (!paths)
                return -ENOMEM;

        for (const char *line = maps; line && *line;) {
                const char *nl = strchr(line, '\n');
                unsigned maj, min;
                unsigned long long ino;
                int path_at = -1;

                /* "START-END PERMS OFFSET MAJ:MIN INODE   PATH", device in hex. */
                if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &path_at) == 3 &&
                    path_at > 0 && ino != 0 && makedev(maj, min) == dev) {
                        const char *path = line + path_at;
                        size_t n = nl ? (size_t) (nl - path) : strlen(path);
                        char *copy = strndup(path, n);

                        if (!copy)
                                return -ENOMEM;
                        if (strv_contains(paths, copy))
                                free(copy);
                        else {
                                r = strv_consume(&paths, copy);
                                if (r < 0)
                                        return r;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }

        *ret = TAKE_PTR(paths);
        return 0;
}

int proc_read_mntns(int proc_fd, pid_t pid, uint64_t *ret) {
        char path[32], target[64];
        ssize_t n;

        if (pid == 0)
                strcpy(path, "self/ns/mnt");
        else
                (void) snprintf(path, sizeof(path), "%d/ns/mnt", (int) pid);
        n = readlinkat(proc_fd, path, target, sizeof(target) - 1);
        if (n < 0)
                return negative_errno();
        target[n] = 0;
        return nsfs_name_parse(target, "mnt", ret);
}

int proc_read_stat(int proc_fd, pid_t pid, pid_t *ret_ppid, unsigned *ret_flags) {
        _cleanup_free_ char *buf = NULL;
        char path[32];
        int r;

        (void) snprintf(path, sizeof(path), "%d/stat", (int) pid);
        r = read_full_at(proc_fd, path, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        return proc_parse_stat(buf, ret_ppid, ret_flags);
}

int proc_read_comm(int proc_fd, pid_t pid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char path[32];
        size_t n;
        int r;

        (void) snprintf(path, sizeof(path), "%d/comm", (int) pid);
        r = read_full_at(proc_fd, path, 4096, &buf, &n);
        if (r < 0)
                return r;
        if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int proc_read_unit(int proc_fd, pid_t pid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char path[32];
        int r;

        (void) snprintf(path, sizeof(path), "%d/cgroup", (int) pid);
        r = read_full_at(proc_fd, path, 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_unit(buf, ret);
}
