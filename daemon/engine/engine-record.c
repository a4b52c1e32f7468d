/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "engine/engine-record.h"

static int record_path(const char *runtime_dir, const char *suffix, char **ret) {
        return asprintf(ret, "%s/" ENGINE_RECORD_NAME "%s", runtime_dir, suffix) < 0 ? -ENOMEM : 0;
}

int engine_record_save(const char *runtime_dir, const EngineRecord *rec) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        r = record_path(runtime_dir, "", &path);
        if (r < 0)
                return r;
        r = record_path(runtime_dir, ".tmp", &tmp);
        if (r < 0)
                return r;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "we");
        if (!f) {
                r = negative_errno();
                (void) close(fd);
                return r;
        }
        fprintf(f, "PID=%d\nSTART_TIME=%" PRIu64 "\nNAMESPACE=%" PRIu64 "\nMAIN_PID=%d\nREADY=%d\nSCOPE=%s\n",
                (int) rec->pid, rec->start_time, rec->namespace_inode, (int) rec->main_pid, rec->ready,
                rec->scope);
        if (fflush(f) != 0 || ferror(f)) {
                r = -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static int record_parse_line(const char *line, EngineRecord *rec) {
        int v;

        if (sscanf(line, "PID=%d", &v) == 1)
                rec->pid = v;
        else if (sscanf(line, "START_TIME=%" SCNu64, &rec->start_time) == 1)
                ;
        else if (sscanf(line, "NAMESPACE=%" SCNu64, &rec->namespace_inode) == 1)
                ;
        else if (sscanf(line, "MAIN_PID=%d", &v) == 1)
                rec->main_pid = v;
        else if (sscanf(line, "READY=%d", &v) == 1)
                rec->ready = v != 0;
        else if (strncmp(line, "SCOPE=", 6) == 0) {
                if (strlen(line + 6) >= sizeof(rec->scope))
                        return -EBADMSG;
                strcpy(rec->scope, line + 6);
        }
        return 0;
}

int engine_record_load(const char *runtime_dir, EngineRecord *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        EngineRecord rec = {};
        char *line, *save = NULL;
        int r;

        r = record_path(runtime_dir, "", &path);
        if (r < 0)
                return r;
        r = read_full_at(AT_FDCWD, path, 4096, &text, NULL);
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                r = record_parse_line(line, &rec);
                if (r < 0)
                        return r;
        }
        if (rec.pid <= 1 || rec.start_time == 0 || rec.namespace_inode == 0)
                return -EBADMSG;
        if (rec.main_pid <= 0)
                rec.main_pid = rec.pid;
        *ret = rec;
        return 0;
}

int engine_record_remove(const char *runtime_dir) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = record_path(runtime_dir, "", &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int proc_read_start_time(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64], *p;
        int r;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        r = read_full_at(AT_FDCWD, path, 4096, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        /* comm may hold anything, parentheses too: count from the last ')'. */
        p = strrchr(text, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* Field 3 (state) follows; start time is field 22. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        if (sscanf(p, " %" SCNu64, ret) != 1)
                return -EBADMSG;
        return 0;
}
