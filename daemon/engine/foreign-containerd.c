/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "engine/foreign-containerd.h"
#include "holders/proc-util.h"

/* Deeper trees than this are not worth following: such a process is
 * reported, which is the safe side for a warning. */
#define MAX_ANCESTORS 64

static int is_containerd(int proc_fd, pid_t pid) {
        _cleanup_free_ char *comm = NULL;
        int r;

        r = proc_read_comm(proc_fd, pid, &comm);
        if (r < 0)
                return r;
        return streq(comm, "containerd");
}

/* Whether pid's parent chain reaches the engine or its namespace. An
 * ancestor we cannot read (gone meanwhile, or PID 1 in a sandbox) ends the
 * walk or is passed over: a warning too many is the safe side. */
static bool descends_from_engine(int proc_fd, pid_t pid, uint64_t engine_ns, pid_t engine_pid) {
        for (unsigned depth = 0; depth < MAX_ANCESTORS; depth++) {
                uint64_t ns;
                pid_t ppid;

                if (proc_read_stat(proc_fd, pid, &ppid, NULL) < 0 || ppid <= 0)
                        return false;
                if (ppid == engine_pid)
                        return true;
                if (proc_read_mntns(proc_fd, ppid, &ns) >= 0 && ns == engine_ns)
                        return true;
                pid = ppid;
        }
        return false;
}

static int check_process(int proc_fd, pid_t pid, uint64_t engine_ns, pid_t engine_pid, uint64_t *ret_ns) {
        uint64_t ns;
        int r;

        if (pid == engine_pid)
                return false;
        r = is_containerd(proc_fd, pid);
        if (r <= 0)
                return r;
        r = proc_read_mntns(proc_fd, pid, &ns);
        if (r < 0)
                return r;
        if (ns == engine_ns)
                return false;
        if (descends_from_engine(proc_fd, pid, engine_ns, engine_pid))
                return false;
        *ret_ns = ns;
        return true;
}

int foreign_containerd_find(int proc_fd, uint64_t engine_ns, pid_t engine_pid, ForeignProcess **ret,
                            size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ ForeignProcess *found = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int fd;

        fd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();

                (void) close(fd);
                return r;
        }

        while ((errno = 0, de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                uint64_t ns = 0;
                int r;

                if (*end || pid <= 0)
                        continue;
                r = check_process(proc_fd, (pid_t) pid, engine_ns, engine_pid, &ns);
                if (r == -ENOMEM)
                        return r;
                if (r <= 0)
                        continue; /* not one, or gone or unreadable meanwhile */
                if (n == allocated) {
                        ForeignProcess *p;

                        allocated = allocated ? allocated * 2 : 4;
                        p = reallocarray(found, allocated, sizeof(*found));
                        if (!p)
                                return -ENOMEM;
                        found = p;
                }
                found[n++] = (ForeignProcess) { .pid = (pid_t) pid, .mntns = ns };
        }
        if (errno != 0)
                return negative_errno();

        *ret = TAKE_PTR(found);
        *ret_n = n;
        return 0;
}
