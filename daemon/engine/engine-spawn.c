/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "engine/engine-spawn.h"
#include "engine/namespace-pin.h"

/* What the child reports through the error pipe when it cannot go on. */
typedef enum SpawnStep {
        STEP_NAMESPACE,
        STEP_PIN,
        STEP_FDS,
        STEP_ENVIRONMENT,
        STEP_EXEC,
} SpawnStep;

typedef struct SpawnFailure {
        int step;
        int error;
} SpawnFailure;

_noreturn_ static void child_fail(int error_fd, SpawnStep step, int error) {
        SpawnFailure f = { .step = step, .error = error < 0 ? -error : error };

        (void) !write(error_fd, &f, sizeof(f));
        _exit(127);
}

static void reset_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* The event loop blocks the signals it handles; the engine must not
         * inherit that, or it would never see SIGTERM. */
        for (int sig = 1; sig < _NSIG; sig++)
                (void) sigaction(sig, &sa, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Moves the listen fds to 3, 4, ... and marks everything else close-on-exec.
 * *error_fd is moved out of the way first; whatever fails, it stays open,
 * so the parent hears of the failure. Returns 0 or a negative errno. */
static int child_arrange_fds(const SpawnParams *p, int *error_fd) {
        int floor = 3 + (int) p->n_listen_fds;
        int *moved, fd;

        /* The child is a copy of a single-threaded parent: malloc is safe. */
        moved = calloc(p->n_listen_fds + 1, sizeof(int));
        if (!moved)
                return -ENOMEM;

        fd = fcntl(*error_fd, F_DUPFD_CLOEXEC, floor);
        if (fd < 0)
                return -errno;
        *error_fd = fd;
        for (size_t i = 0; i < p->n_listen_fds; i++) {
                moved[i] = fcntl(p->listen_fds[i], F_DUPFD_CLOEXEC, floor);
                if (moved[i] < 0)
                        return -errno;
        }
        for (size_t i = 0; i < p->n_listen_fds; i++)
                if (dup2(moved[i], 3 + (int) i) < 0) /* dup2 clears close-on-exec */
                        return -errno;
        /* Older kernels lack CLOSE_RANGE_CLOEXEC; our own fds are O_CLOEXEC anyway. */
        (void) syscall(SYS_close_range, (unsigned) floor, ~0U, CLOSE_RANGE_CLOEXEC);
        return 0;
}

static int child_set_environment(const SpawnParams *p) {
        char value[32];

        if (p->n_listen_fds > 0) {
                (void) snprintf(value, sizeof(value), "%zu", p->n_listen_fds);
                if (setenv("LISTEN_FDS", value, 1) < 0)
                        return -1;
                (void) snprintf(value, sizeof(value), "%d", (int) getpid());
                if (setenv("LISTEN_PID", value, 1) < 0)
                        return -1;
                if (p->listen_fdnames && setenv("LISTEN_FDNAMES", p->listen_fdnames, 1) < 0)
                        return -1;
        } else {
                (void) unsetenv("LISTEN_FDS");
                (void) unsetenv("LISTEN_PID");
                (void) unsetenv("LISTEN_FDNAMES");
        }
        if (p->notify_socket) {
                if (setenv("NOTIFY_SOCKET", p->notify_socket, 1) < 0)
                        return -1;
        } else
                (void) unsetenv("NOTIFY_SOCKET");
        /* The watchdog is dmwardend's; the engine is watched through us. */
        (void) unsetenv("WATCHDOG_PID");
        (void) unsetenv("WATCHDOG_USEC");
        return 0;
}

_noreturn_ static void child_run(const SpawnParams *p, pid_t parent, int sync_fd, int go_fd, int error_fd) {
        char c;
        int r;

        /* No PR_SET_PDEATHSIG: the engine, and every container, must live
         * through a dmwardend that crashes or is replaced; the next one
         * adopts it. Only a parent gone before we got here is a reason to
         * stop: nobody would let us go on. */
        if (getppid() != parent)
                _exit(127);
        reset_signals();

        r = namespace_enter_new(p->propagation);
        if (r < 0)
                child_fail(error_fd, STEP_NAMESPACE, r);
        if (write(sync_fd, "u", 1) != 1 || read(go_fd, &c, 1) != 1)
                _exit(127); /* the parent gave up on us */

        r = child_arrange_fds(p, &error_fd);
        if (r < 0)
                child_fail(error_fd, STEP_FDS, r);
        if (child_set_environment(p) < 0)
                child_fail(error_fd, STEP_ENVIRONMENT, errno);

        execv(p->argv[0], p->argv);
        child_fail(error_fd, STEP_EXEC, errno);
}

static const char *step_name(int step) {
        switch (step) {
        case STEP_NAMESPACE:
                return "create the engine's mount namespace";
        case STEP_PIN:
                return "pin the engine's mount namespace";
        case STEP_FDS:
                return "pass on the inherited sockets";
        case STEP_ENVIRONMENT:
                return "set up the environment";
        default:
                return "execute";
        }
}

/* Reads the child's failure report; 0 if it exec'd (the pipe just closed). */
static int read_failure(int error_fd, SpawnFailure *f) {
        ssize_t n;

        do
                n = read(error_fd, f, sizeof(*f));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof(*f))
                return -(f->error ?: EIO);
        return 0;
}

static void reap(pid_t pid) {
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* Undoes a half-done spawn and says which step failed. */
static int spawn_failed(const SpawnParams *p, pid_t pid, const SpawnFailure *failure, int r,
                        char *reason, size_t reason_size) {
        if (failure->step == STEP_EXEC)
                (void) snprintf(reason, reason_size, "failed to execute %s: %s", p->argv[0], strerror(-r));
        else
                (void) snprintf(reason, reason_size, "failed to %s: %s", step_name(failure->step),
                                strerror(-r));
        reap(pid);
        if (p->pin_path)
                (void) namespace_unpin(p->pin_path);
        return r;
}

int engine_spawn(const SpawnParams *p, pid_t *ret_pid, char *reason, size_t reason_size) {
        _cleanup_close_ int sync_r = -EBADF, sync_w = -EBADF, go_r = -EBADF, go_w = -EBADF;
        _cleanup_close_ int err_r = -EBADF, err_w = -EBADF;
        int fds[2], r;
        SpawnFailure failure = { .step = STEP_EXEC };
        pid_t parent = getpid(), pid;
        char c;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        sync_r = fds[0], sync_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        go_r = fds[0], go_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        err_r = fds[0], err_w = fds[1];

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                child_run(p, parent, sync_w, go_r, err_w);

        sync_w = safe_close(sync_w);
        go_r = safe_close(go_r);
        err_w = safe_close(err_w);

        /* Step 1: the child is in its namespace (or says why not). */
        if (read(sync_r, &c, 1) != 1) {
                r = read_failure(err_r, &failure);
                return spawn_failed(p, pid, &failure, r < 0 ? r : -ECHILD, reason, reason_size);
        }

        /* Step 2: pin it before the engine can mount anything in it. */
        if (p->pin_path) {
                r = namespace_pin(pid, p->pin_path);
                if (r < 0) {
                        failure.step = STEP_PIN;
                        return spawn_failed(p, pid, &failure, r, reason, reason_size);
                }
        }

        /* Step 3: into its own cgroup before it can fork containers. */
        if (p->before_exec)
                p->before_exec(pid, p->userdata);

        /* Step 4: let it exec, and learn whether that worked. */
        if (write(go_w, "g", 1) != 1)
                return spawn_failed(p, pid, &failure, negative_errno(), reason, reason_size);
        go_w = safe_close(go_w);
        r = read_failure(err_r, &failure);
        if (r < 0)
                return spawn_failed(p, pid, &failure, r, reason, reason_size);

        *ret_pid = pid;
        return 0;
}
