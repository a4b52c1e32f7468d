/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine/engine-watched.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "engine/engine-record.h"
#include "holders/proc-util.h"

#define LOOK_AGAIN_USEC USEC_PER_SEC

struct EngineWatched {
        sd_event *event;
        char *pid_file;                 /* NULL: PID 1 */
        EngineWatchedChanged changed;
        void *userdata;

        pid_t pid;                      /* 0: none now */
        uint64_t mntns;
        int pidfd;
        sd_event_source *exit_source;   /* the pidfd: readable at exit */
        sd_event_source *look_again;    /* while there is none */
        bool missing_logged;
};

EngineWatched *engine_watched_free(EngineWatched *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->exit_source);
        sd_event_source_disable_unref(w->look_again);
        safe_close(w->pidfd);
        sd_event_unref(w->event);
        free(w->pid_file);
        free(w);
        return NULL;
}

int engine_watched_new(sd_event *event, const char *pid_file, EngineWatchedChanged changed, void *userdata,
                       EngineWatched **ret) {
        _cleanup_(engine_watched_freep) EngineWatched *w = NULL;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->pidfd = -EBADF;
        w->changed = changed;
        w->userdata = userdata;
        if (pid_file && *pid_file && !(w->pid_file = strdup(pid_file)))
                return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

pid_t engine_watched_pid(const EngineWatched *w) {
        return w->pid;
}

uint64_t engine_watched_namespace(const EngineWatched *w) {
        return w->mntns;
}

/* The first number in the file and when the file was last written. */
static int read_pid_file(const char *path, pid_t *ret_pid, struct timespec *ret_mtime) {
        _cleanup_free_ char *line = NULL;
        struct stat st;
        char *end;
        long pid;
        int r;

        r = read_line_at(AT_FDCWD, path, &line);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0)
                return -errno;
        errno = 0;
        pid = strtol(line, &end, 10);
        if (errno != 0 || end == line || pid <= 0 || pid > INT32_MAX)
                return -EBADMSG;
        *ret_pid = (pid_t) pid;
        *ret_mtime = st.st_mtim;
        return 0;
}

/* When pid started, on the realtime clock (proc_read_start_time() gives
 * clock ticks after boot). */
static int process_start_realtime(pid_t pid, usec_t *ret) {
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ticks;
        int r;

        if (hz <= 0)
                return -EBADMSG;
        r = proc_read_start_time(pid, &ticks);
        if (r < 0)
                return r;
        *ret = now_usec(CLOCK_REALTIME) - now_usec(CLOCK_BOOTTIME) + ticks * USEC_PER_SEC / (usec_t) hz;
        return 0;
}

static int on_engine_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void forget(EngineWatched *w) {
        w->exit_source = sd_event_source_disable_unref(w->exit_source);
        w->pidfd = safe_close(w->pidfd);
        w->pid = 0;
        w->mntns = 0;
}

/* Takes pid as the engine if it is alive, and (with a PID file) started
 * no later than the file was written. */
static int adopt(EngineWatched *w, pid_t pid, const struct timespec *written) {
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t mntns;
        usec_t started;
        int r;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        if (written) {
                r = process_start_realtime(pid, &started);
                if (r < 0)
                        return r;
                /* Tick rounding and clock steps: a second of slack. */
                if (started > ((usec_t) written->tv_sec * USEC_PER_SEC + (usec_t) written->tv_nsec / 1000) + USEC_PER_SEC)
                        return -ESTALE;
        }
        r = proc_read_mntns(AT_FDCWD, pid, &mntns);
        if (r < 0)
                return r;
        /* Still the same process now that its namespace was read. */
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return -errno;
        if (w->pid_file) {
                r = sd_event_add_io(w->event, &w->exit_source, pidfd, EPOLLIN, on_engine_exit, w);
                if (r < 0)
                        return r;
        }
        w->pidfd = TAKE_FD(pidfd);
        w->pid = pid;
        w->mntns = mntns;
        return 0;
}

static int look(EngineWatched *w) {
        struct timespec written = {};
        pid_t pid = 1;
        int r;

        if (w->pid_file) {
                r = read_pid_file(w->pid_file, &pid, &written);
                if (r < 0)
                        return r;
        }
        return adopt(w, pid, w->pid_file ? &written : NULL);
}

static void arm_look_again(EngineWatched *w) {
        (void) sd_event_source_set_time_relative(w->look_again, LOOK_AGAIN_USEC);
        (void) sd_event_source_set_enabled(w->look_again, SD_EVENT_ONESHOT);
}

static void found(EngineWatched *w) {
        (void) sd_event_source_set_enabled(w->look_again, SD_EVENT_OFF);
        w->missing_logged = false;
        log_info("Watch-only mode: the engine namespace is %" PRIu64 ", that of PID %d.", w->mntns, (int) w->pid);
        if (w->changed)
                w->changed(w, w->userdata);
}

static void missing(EngineWatched *w, int error) {
        if (!w->missing_logged)
                log_warning_errno(error, "PIDFile=%s names no running engine (%s); watching no engine namespace, "
                                  "and reading it again every second.", w->pid_file,
                                  error == -ESTALE ? "its PID is a process that started after the file was "
                                                     "written" : strerror(-error));
        w->missing_logged = true;
        arm_look_again(w);
}

static int on_look_again(sd_event_source *s, uint64_t usec, void *userdata) {
        EngineWatched *w = ASSERT_PTR(userdata);
        int r;

        (void) s;
        (void) usec;
        r = look(w);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                missing(w, r);
        else
                found(w);
        return 0;
}

static int on_engine_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        EngineWatched *w = ASSERT_PTR(userdata);
        pid_t pid = w->pid;

        (void) s;
        (void) fd;
        (void) revents;
        forget(w);
        log_notice("The engine (PID %d, named by PIDFile=%s) exited; watching no engine namespace until the file "
                   "names its successor.", (int) pid, w->pid_file);
        w->missing_logged = true;
        if (w->changed)
                w->changed(w, w->userdata);
        arm_look_again(w);
        return 0;
}

int engine_watched_start(EngineWatched *w) {
        int r;

        r = sd_event_add_time_relative(w->event, &w->look_again, CLOCK_MONOTONIC, LOOK_AGAIN_USEC, USEC_PER_SEC / 10,
                                       on_look_again, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->look_again, SD_EVENT_OFF);
        r = look(w);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && !w->pid_file)
                return log_error_errno(r, "Failed to find the mount namespace of PID 1: %m");
        if (r < 0)
                missing(w, r);
        else
                found(w);
        return 0;
}
