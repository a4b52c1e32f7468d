/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/strv.h"
#include "reap/reap-detach.h"
#include "reap/reap-job.h"
#include "reap/reap-target.h"
#include "reap/reap-unit.h"

/* A detach helper only enters a namespace and unmounts: seconds are
 * plenty. After SIGKILL a process needs no more than this to go. */
#define DETACH_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define KILL_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* A restarted unit has its own stop timeout; this is how long we wait to
 * see the holder go before calling the attempt failed. */
#define RESTART_WAIT_MIN_USEC (30 * USEC_PER_SEC)

typedef struct ReapOp {
        ReapJob *job;
        HolderRecord holder;
        char **paths;                   /* detach: the namespace's mount points */
        char *pin_path;                 /* detach: its nsfs pin, if it has one */
        pid_t pin_root_pid;             /* detach: a process that sees it */
        pid_t pin_pid;                  /* detach: or a process with an fd of it */
        int pin_fd;
        bool done;

        pid_t helper_pid;               /* detach helper */
        int helper_pidfd;
        int result_fd;
        sd_event_source *helper_source;

        ReapProcess proc;               /* kill, restart-unit: the holder */
        bool term_ignored;              /* kill: it ignores SIGTERM, so an exit
                                         * before our SIGKILL is not our doing */
        bool killed;
        sd_event_source *exit_source;
        sd_event_source *timer_source;
        ReapUnitCall *call;
} ReapOp;

struct ReapJob {
        ReapJobParams p;
        ProtectPolicy policy;
        char **protect_units;
        char **protect_comms;
        char *self_unit;
        ReapOp **ops;
        size_t n_ops;
        size_t n_pending;
        sd_event_source *done_source;
};

static const char *action_name(const ReapJob *j) {
        return reap_action_to_string(j->p.action);
}

static void op_stop(ReapOp *op) {
        op->exit_source = sd_event_source_disable_unref(op->exit_source);
        op->timer_source = sd_event_source_disable_unref(op->timer_source);
        op->helper_source = sd_event_source_disable_unref(op->helper_source);
        if (op->helper_pid > 0) {
                /* Our own unreaped child: its PID is ours until waited for. */
                (void) kill(op->helper_pid, SIGKILL);
                (void) waitpid(op->helper_pid, NULL, 0);
                op->helper_pid = 0;
        }
        op->helper_pidfd = safe_close(op->helper_pidfd);
        op->result_fd = safe_close(op->result_fd);
}

static ReapOp *op_free(ReapOp *op) {
        if (!op)
                return NULL;
        op_stop(op);
        reap_unit_call_free(op->call);
        reap_process_done(&op->proc);
        free(op->holder.comm);
        free(op->holder.unit);
        free(op->holder.kind);
        free(op->holder.path);
        strv_free(op->paths);
        free(op->pin_path);
        free(op);
        return NULL;
}

_printf_(4, 5) static void op_finish(ReapOp *op, int error, bool reaped, const char *format, ...) {
        ReapJob *j = op->job;
        _cleanup_free_ char *result = NULL;
        va_list ap;

        if (op->done)
                return;
        op->done = true;
        op_stop(op);
        va_start(ap, format);
        if (vasprintf(&result, format, ap) < 0)
                result = NULL;
        va_end(ap);
        if (j->p.op_done)
                j->p.op_done(j, &(ReapOutcome) { .holder = &op->holder, .action = action_name(j), .error = error,
                                                 .reaped = reaped, .result = result ?: "?" },
                             j->p.userdata);
        if (--j->n_pending == 0)
                (void) sd_event_source_set_enabled(j->done_source, SD_EVENT_ONESHOT);
}

/* --- detach --- */

/* The helper exited (si says how): reap it and tell what it did. */
static void helper_exited(ReapOp *op, const siginfo_t *si) {
        _cleanup_free_ char *text = NULL;
        int r;

        /* Reaped here: sd-event only peeked (WNOWAIT), and the source goes
         * away in op_finish() before it could. */
        (void) waitid(P_PIDFD, (id_t) op->helper_pidfd, &(siginfo_t) {}, WEXITED | WNOHANG);
        op->helper_pid = 0;
        r = reap_detach_collect(op->result_fd, op->paths, &text);
        if (r == -ENOMEM)
                op_finish(op, r, false, "failed (out of memory)");
        else if (r < 0)
                op_finish(op, r, false, "failed (%s)", text ?: strerror(-r));
        else if (si->si_code != CLD_EXITED || si->si_status != 0)
                op_finish(op, -EPROTO, false, "failed (the helper died: %s)", text ?: "?");
        else
                op_finish(op, 0, true, "ok (%s)", text);
}

static int on_helper_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        (void) s;
        helper_exited(userdata, si);
        return 0;
}

static int on_helper_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        op_finish(userdata, -ETIMEDOUT, false, "failed (the helper did not finish within 10s and was killed)");
        return 0;
}

static void detach_start(ReapOp *op) {
        ReapJob *j = op->job;
        ProtectSubject subject = { .mntns = op->holder.mntns };
        ProtectReason reason = reap_protect_check(&j->policy, &subject, REAP_DETACH);
        DetachRequest req = {
                .mntns = op->holder.mntns,
                .dev = j->p.dev,
                .paths = op->paths,
                .pid = op->holder.pid,
                .tid = op->holder.tid,
                .pin_path = op->pin_path,
                .pin_root_pid = op->pin_root_pid,
                .pin_pid = op->pin_pid,
                .pin_fd = op->pin_fd,
        };
        char buf[256];
        int r;

        if (reason != PROTECT_NONE) {
                op_finish(op, -EPERM, false, "refused (%s)", reap_protect_describe(reason, &subject, buf, sizeof(buf)));
                return;
        }
        r = reap_detach_spawn(&req, &op->helper_pid, &op->helper_pidfd, &op->result_fd);
        if (r < 0) {
                op_finish(op, r, false, "failed (cannot enter mount namespace %llu: %s)",
                          (unsigned long long) op->holder.mntns,
                          r == -ESTALE ? "it is not the namespace the scan saw" : strerror(-r));
                return;
        }
        r = sd_event_add_child_pidfd(j->p.event, &op->helper_source, op->helper_pidfd, WEXITED, on_helper_exit, op);
        if (r >= 0)
                r = sd_event_add_time_relative(j->p.event, &op->timer_source, CLOCK_MONOTONIC, DETACH_TIMEOUT_USEC,
                                               0, on_helper_timeout, op);
        if (r < 0)
                op_finish(op, r, false, "failed (cannot wait for the helper: %s)", strerror(-r));
}

/* --- kill and restart-unit: waiting for the holder to go --- */

/* It went between our SIGTERM and our SIGKILL. */
static void finish_exit_before_sigkill(ReapOp *op) {
        if (op->term_ignored)
                op_finish(op, 0, false, "gone (PID %d exited during the grace period, not by our SIGTERM, "
                          "which it ignores)", (int) op->proc.pid);
        else
                op_finish(op, 0, true, "ok (terminated by SIGTERM)");
}

static void holder_exited(ReapOp *op) {
        char grace[FORMAT_TIMESPAN_MAX];

        if (op->job->p.action == REAP_RESTART_UNIT)
                op_finish(op, 0, true, "ok (unit %s restarted)", strempty(op->proc.unit));
        else if (op->killed)
                op_finish(op, 0, true, "ok (killed with SIGKILL after %s)",
                          format_timespan(grace, sizeof(grace), op->job->p.grace_usec));
        else
                finish_exit_before_sigkill(op);
}

static int on_holder_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) s;
        (void) fd;
        (void) revents;
        holder_exited(userdata);
        return 0;
}

static int on_holder_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ReapOp *op = ASSERT_PTR(userdata);
        int r;

        (void) usec;
        if (op->job->p.action == REAP_RESTART_UNIT) {
                op_finish(op, -ETIMEDOUT, false, "failed (unit %s restart queued, PID %d still runs)",
                          strempty(op->proc.unit), (int) op->proc.pid);
                return 0;
        }
        if (op->killed) {
                op_finish(op, -ETIMEDOUT, false, "failed (still alive 10s after SIGKILL)");
                return 0;
        }
        /* The same pidfd: the process we checked, whatever its PID is now. */
        if (syscall(SYS_pidfd_send_signal, op->proc.pidfd, SIGKILL, NULL, 0) < 0) {
                r = negative_errno();
                if (r == -ESRCH)
                        finish_exit_before_sigkill(op);
                else
                        op_finish(op, r, false, "failed (SIGKILL: %s)", strerror(-r));
                return 0;
        }
        op->killed = true;
        (void) sd_event_source_set_time_relative(s, KILL_TIMEOUT_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void wait_for_exit(ReapOp *op, usec_t timeout) {
        ReapJob *j = op->job;
        int r;

        r = sd_event_add_io(j->p.event, &op->exit_source, op->proc.pidfd, EPOLLIN, on_holder_exit, op);
        if (r >= 0)
                r = sd_event_add_time_relative(j->p.event, &op->timer_source, CLOCK_MONOTONIC, timeout, 0,
                                               on_holder_timeout, op);
        if (r < 0)
                op_finish(op, r, false, "failed (cannot wait for PID %d: %s)", (int) op->proc.pid, strerror(-r));
}

/* Pins the holder by pidfd; false if the op ended already. */
static bool open_holder(ReapOp *op) {
        int r = reap_process_open(op->holder.pid, &op->proc);

        if (r == -ESRCH || r == -ENOENT)
                op_finish(op, 0, false, "gone (PID %d exited before we acted)", (int) op->holder.pid);
        else if (r < 0)
                op_finish(op, r, false, "failed (cannot inspect PID %d: %s)", (int) op->holder.pid, strerror(-r));
        return r >= 0;
}

static void kill_start(ReapOp *op) {
        ReapJob *j = op->job;
        char why[512];
        int r;

        if (!open_holder(op))
                return;
        /* Unknown counts as not ignored: the exit is then credited as before. */
        op->term_ignored = reap_process_ignores_signal(&op->proc, SIGTERM) > 0;
        r = reap_process_signal_checked(&op->proc, &j->policy, REAP_KILL, j->p.dev, SIGTERM, why, sizeof(why));
        if (r == -ESRCH)
                op_finish(op, 0, false, "%s", why);
        else if (r <= 0)
                op_finish(op, r, false, "%s", why);
        else
                wait_for_exit(op, j->p.grace_usec);
}

static void on_unit_done(int error, const char *message, void *userdata) {
        ReapOp *op = ASSERT_PTR(userdata);

        if (error < 0)
                op_finish(op, error, false, "failed (%s)", message);
        else
                wait_for_exit(op, MAX(op->job->p.grace_usec, RESTART_WAIT_MIN_USEC));
}

static void restart_start(ReapOp *op) {
        ReapJob *j = op->job;
        _cleanup_free_ char *message = NULL;
        ProtectSubject subject;
        ProtectReason reason;
        char buf[256];
        int r;

        if (!open_holder(op))
                return;
        reap_process_subject(&op->proc, &subject);
        reason = reap_protect_check(&j->policy, &subject, REAP_RESTART_UNIT);
        if (reason != PROTECT_NONE) {
                op_finish(op, -EPERM, false, "refused (%s)", reap_protect_describe(reason, &subject, buf, sizeof(buf)));
                return;
        }
        if (isempty(op->proc.unit)) {
                op_finish(op, -EOPNOTSUPP, false, "failed (PID %d is in no systemd unit)", (int) op->proc.pid);
                return;
        }
        r = reap_process_references(&op->proc, j->p.dev);
        if (r <= 0) {
                op_finish(op, r == -ESRCH ? 0 : r, false, "%s",
                          r == 0 ? "skipped (no longer holds the device)" : "gone (exited before we acted)");
                return;
        }
        r = reap_unit_restart(j->p.event, op->proc.unit, on_unit_done, op, &op->call, &message);
        if (r < 0)
                op_finish(op, r, false, "failed (%s)", message ?: strerror(-r));
}

/* --- planning --- */

static int holder_record_copy(const HolderRecord *from, HolderRecord *to) {
        *to = *from;
        to->comm = strdup(from->comm);
        to->unit = strdup(from->unit);
        to->kind = strdup(from->kind);
        to->path = strdup(from->path);
        return to->comm && to->unit && to->kind && to->path ? 0 : -ENOMEM;
}

static int add_op(ReapJob *j, const HolderRecord *h, ReapOp **ret) {
        ReapOp **grown, *op;

        grown = reallocarray(j->ops, j->n_ops + 1, sizeof(ReapOp *));
        if (!grown)
                return -ENOMEM;
        j->ops = grown;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (ReapOp) { .job = j, .helper_pidfd = -EBADF, .result_fd = -EBADF, .proc.pidfd = -EBADF };
        j->ops[j->n_ops++] = op;
        *ret = op;
        return holder_record_copy(h, &op->holder);
}

/* The op already made for this holder: same namespace (detach), same unit
 * (restart-unit), or same process. */
static ReapOp *find_op(ReapJob *j, const HolderRecord *h) {
        for (size_t i = 0; i < j->n_ops; i++) {
                const HolderRecord *o = &j->ops[i]->holder;

                if (j->p.action == REAP_DETACH ? o->mntns == h->mntns
                    : j->p.action == REAP_RESTART_UNIT && !isempty(h->unit) ? streq(o->unit, h->unit)
                                                                             : o->pid == h->pid)
                        return j->ops[i];
        }
        return NULL;
}

static int plan(ReapJob *j, const HolderRecords *holders) {
        int r;

        for (size_t i = 0; i < holders->n_rows; i++) {
                const HolderRecord *h = &holders->rows[i];
                ReapOp *op;

                /* A pin mount's process only sees the pin: not a holder. */
                if (j->p.action == REAP_DETACH ? !streq(h->kind, "mount")
                                               : h->pid <= 0 || streq(h->kind, "pin-mount"))
                        continue;
                op = find_op(j, h);
                if (!op) {
                        r = add_op(j, h, &op);
                        if (r < 0)
                                return r;
                }
                if (j->p.action == REAP_DETACH && !strv_contains(op->paths, h->path)) {
                        r = strv_extend(&op->paths, h->path);
                        if (r < 0)
                                return r;
                }
        }
        /* A namespace with no process is entered through its pin. */
        for (size_t i = 0; j->p.action == REAP_DETACH && i < holders->n_rows; i++) {
                const HolderRecord *h = &holders->rows[i];
                ReapOp *op = strncmp(h->kind, "pin-", 4) == 0 ? find_op(j, h) : NULL;
                int fd;

                if (op && streq(h->kind, "pin-mount") && !op->pin_path) {
                        op->pin_path = strdup(h->path);
                        if (!op->pin_path)
                                return -ENOMEM;
                        op->pin_root_pid = h->pid;
                } else if (op && streq(h->kind, "pin-fd") && op->pin_pid <= 0 && sscanf(h->path, "fd %d", &fd) == 1) {
                        op->pin_pid = h->pid;
                        op->pin_fd = fd;
                }
        }
        return 0;
}

static int on_done(sd_event_source *s, void *userdata) {
        ReapJob *j = ASSERT_PTR(userdata);

        (void) s;
        if (j->p.done)
                j->p.done(j, j->p.userdata);
        return 0;
}

static int copy_policy(ReapJob *j, const ProtectPolicy *p) {
        j->policy = *p;
        if (strv_copy(p->protect_units, &j->protect_units) < 0 || strv_copy(p->protect_comms, &j->protect_comms) < 0)
                return -ENOMEM;
        if (p->self_unit && !(j->self_unit = strdup(p->self_unit)))
                return -ENOMEM;
        j->policy.protect_units = j->protect_units;
        j->policy.protect_comms = j->protect_comms;
        j->policy.self_unit = j->self_unit;
        return 0;
}

int reap_job_start(const ReapJobParams *p, const HolderRecords *holders, ReapJob **ret) {
        _cleanup_(reap_job_freep) ReapJob *j = NULL;
        int r;

        if (!IN_SET(p->action, REAP_DETACH, REAP_KILL, REAP_RESTART_UNIT))
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->p = *p;
        j->p.event = sd_event_ref(p->event);
        r = copy_policy(j, p->policy);
        if (r < 0)
                return r;
        r = sd_event_add_defer(j->p.event, &j->done_source, on_done, j);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(j->done_source, SD_EVENT_OFF);
        r = plan(j, holders);
        if (r < 0)
                return r;

        j->n_pending = j->n_ops + 1;  /* held until every op started */
        for (size_t i = 0; i < j->n_ops; i++)
                switch (p->action) {
                case REAP_DETACH:
                        detach_start(j->ops[i]);
                        break;
                case REAP_KILL:
                        kill_start(j->ops[i]);
                        break;
                default:
                        restart_start(j->ops[i]);
                        break;
                }
        if (--j->n_pending == 0)
                (void) sd_event_source_set_enabled(j->done_source, SD_EVENT_ONESHOT);
        r = (int) j->n_ops;
        *ret = TAKE_PTR(j);
        return r;
}

/* Whether fd (a pidfd) says its process exited, without waiting. */
static bool pidfd_exited(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void reap_job_flush(ReapJob *j) {
        for (size_t i = 0; j && i < j->n_ops; i++) {
                ReapOp *op = j->ops[i];
                siginfo_t si = {};

                if (op->done)
                        continue;
                /* WNOWAIT: a helper still running stays ours to wait for. */
                if (op->helper_source && op->helper_pid > 0 &&
                    waitid(P_PIDFD, (id_t) op->helper_pidfd, &si, WEXITED | WNOHANG | WNOWAIT) >= 0 && si.si_pid != 0)
                        helper_exited(op, &si);
                else if (op->exit_source && pidfd_exited(op->proc.pidfd))
                        holder_exited(op);
        }
}

ReapJob *reap_job_free(ReapJob *j) {
        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n_ops; i++)
                op_free(j->ops[i]);
        free(j->ops);
        sd_event_source_disable_unref(j->done_source);
        strv_free(j->protect_units);
        strv_free(j->protect_comms);
        free(j->self_unit);
        sd_event_unref(j->p.event);
        free(j);
        return NULL;
}
