/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "basic/log.h"
#include "engine/engine-adopt.h"
#include "engine/engine-record.h"
#include "engine/engine-scope.h"
#include "engine/engine-spawn.h"
#include "engine/engine.h"
#include "engine/namespace-pin.h"
#include "engine/notify-message.h"
#include "engine/notify-socket.h"
#include "holders/proc-util.h"

/* How often a Type=socket engine's socket is tried while it starts. */
#define READY_PROBE_INTERVAL (200 * USEC_PER_MSEC)

static const char *const engine_state_names[_ENGINE_STATE_MAX] = {
        [ENGINE_NONE] = "none",
        [ENGINE_STARTING] = "starting",
        [ENGINE_RUNNING] = "running",
        [ENGINE_STOPPING] = "stopping",
        [ENGINE_FAILED] = "failed",
};

DEFINE_ENUM_TO_STRING(engine_state, EngineState, engine_state_names, _ENGINE_STATE_MAX);

static void engine_changed(Engine *e) {
        if (e->on_change)
                e->on_change(e, e->userdata);
}

static void engine_set_state(Engine *e, EngineState state) {
        if (e->state == state)
                return;
        log_debug("Engine state %s -> %s.", engine_state_to_string(e->state), engine_state_to_string(state));
        e->state = state;
        engine_changed(e);
}

/* The loop's time of this wake-up, as every timer of the engine uses it. */
static usec_t loop_now(const Engine *e) {
        uint64_t t = 0;

        (void) sd_event_now(e->event, CLOCK_MONOTONIC, &t);
        return t;
}

static void engine_disarm(Engine *e) {
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        e->ready_probe_source = sd_event_source_disable_unref(e->ready_probe_source);
}

static int engine_arm_timer(Engine *e, usec_t usec, sd_event_time_handler_t handler, const char *description) {
        int r;

        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        if (usec == USEC_INFINITY)
                return 0;
        r = sd_event_add_time_relative(e->event, &e->timer_source, CLOCK_MONOTONIC, usec, 0, handler, e);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the engine's %s timer: %m", description);
        (void) sd_event_source_set_description(e->timer_source, description);
        return 0;
}

bool engine_is_alive(const Engine *e) {
        return e->pid > 0;
}

int engine_kill(Engine *e, int sig) {
        pid_t pid = e->main_pid > 0 ? e->main_pid : e->pid;

        if (pid <= 0)
                return -ESRCH;
        /* The process we started or adopted by its pidfd: its PID may be
         * reused once it is gone. */
        if (pid == e->pid && e->pidfd >= 0) {
                if (syscall(SYS_pidfd_send_signal, e->pidfd, sig, NULL, 0) < 0)
                        return negative_errno();
                return 0;
        }
        if (kill(pid, sig) < 0)
                return negative_errno();
        return 0;
}

/* Keeps runtime_dir/engine.state current for a successor. */
static void engine_save_record(Engine *e) {
        EngineRecord rec = {
                .pid = e->pid,
                .start_time = e->start_time,
                .namespace_inode = e->namespace_inode,
                .main_pid = e->main_pid,
                .ready = e->state == ENGINE_RUNNING,
        };
        int r;

        if (e->pid <= 0)
                return;
        if (e->scope)
                (void) snprintf(rec.scope, sizeof(rec.scope), "%s", e->scope);
        r = engine_record_save(e->runtime_dir, &rec);
        if (r < 0)
                log_warning_errno(r, "Failed to record the engine in %s/" ENGINE_RECORD_NAME
                                     ": a dmwardend started after this one will not adopt it: %m",
                                  e->runtime_dir);
}

static int on_kill_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);
        char buf[FORMAT_TIMESPAN_MAX];

        log_warning("Engine (PID %d) still running %s after SIGTERM, sending SIGKILL.", (int) e->pid,
                    format_timespan(buf, sizeof(buf), e->config->stop_timeout_usec));
        (void) engine_kill(e, SIGKILL);
        /* SIGKILL to the process we started too, should MAINPID= differ. */
        if (e->pid > 0)
                (void) kill(e->pid, SIGKILL);
        return 0;
}

/* SIGTERM now, SIGKILL after StopTimeoutSec=. */
static int engine_terminate(Engine *e) {
        int r;

        e->ready_probe_source = sd_event_source_disable_unref(e->ready_probe_source);
        r = engine_kill(e, SIGTERM);
        if (r < 0 && r != -ESRCH)
                log_warning_errno(r, "Failed to send SIGTERM to the engine: %m");
        engine_set_state(e, ENGINE_STOPPING);
        return engine_arm_timer(e, e->config->stop_timeout_usec, on_kill_timeout, "engine-kill");
}

static void engine_ready(Engine *e) {
        if (e->state != ENGINE_STARTING)
                return;
        engine_disarm(e);
        log_info("Engine (PID %d) is ready.", (int) e->pid);
        engine_set_state(e, ENGINE_RUNNING);
        engine_save_record(e);
}

static int on_start_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);
        char buf[FORMAT_TIMESPAN_MAX];

        log_error("Engine (PID %d) did not become ready within %s, stopping it.", (int) e->pid,
                  format_timespan(buf, sizeof(buf), e->config->start_timeout_usec));
        e->start_timed_out = true;
        return engine_terminate(e);
}

static int on_ready_probe(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int n;

        /* Look through the engine's root, so a socket it made in its own
         * namespace counts as well as one on a shared /run. */
        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/%d/root%s", (int) e->pid, e->config->ready_socket);
        if (n < 0 || (size_t) n >= sizeof(sa.sun_path)) {
                log_error("ReadySocket=%s is too long to connect to; waiting for the start timeout.",
                          e->config->ready_socket);
                return 0;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
                engine_ready(e);
                return 0;
        }
        return sd_event_source_set_time_relative(s, READY_PROBE_INTERVAL) < 0
                       ? 0
                       : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);

        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        e->restarts++;
        (void) engine_start(e);
        return 0;
}

/* After a failed start or an exit: restart later, or give up. */
static void engine_after_failure(Engine *e, bool failed) {
        char buf[FORMAT_TIMESPAN_MAX];
        usec_t delay;

        if (!restart_wanted(e->config->restart, failed, e->stop_requested)) {
                engine_disarm(e);
                engine_set_state(e, failed ? ENGINE_FAILED : ENGINE_NONE);
                if (failed)
                        log_error("Engine failed and Restart=%s: not restarting it.",
                                  restart_mode_to_string(e->config->restart));
                return;
        }

        /* An engine that stayed up for a whole start-limit window starts
         * its back-off afresh. */
        if (e->started_usec > 0 && loop_now(e) - e->started_usec >= e->config->start_limit_interval_usec)
                e->failures_in_row = 0;
        e->failures_in_row++;
        delay = restart_delay(e->config->restart_usec, e->failures_in_row);
        log_notice("Restarting the engine in %s (failure %u in a row).", format_timespan(buf, sizeof(buf), delay),
                   e->failures_in_row);
        engine_set_state(e, ENGINE_STARTING);
        if (engine_arm_timer(e, delay, on_restart_timer, "engine-restart") < 0)
                engine_set_state(e, ENGINE_FAILED);
}

static void log_exit(const Engine *e, const siginfo_t *si) {
        if (si->si_code == CLD_EXITED && si->si_status == 0)
                log_info("Engine (PID %d) exited successfully.", (int) si->si_pid);
        else if (si->si_code == CLD_EXITED)
                log_full(e->stop_requested ? LOG_NOTICE : LOG_ERR, "Engine (PID %d) exited with status %d.",
                         (int) si->si_pid, si->si_status);
        else
                log_full(e->stop_requested ? LOG_NOTICE : LOG_ERR, "Engine (PID %d) %s by signal %s.",
                         (int) si->si_pid, si->si_code == CLD_DUMPED ? "dumped core, killed" : "killed",
                         sigabbrev_np(si->si_status) ?: "unknown");
}

/* Whatever the engine left in its scope (shims, containers) goes once the
 * engine was asked to stop: systemctl stop dmwarden stops it all, as the
 * unit's KillMode=mixed did when the engine lived in dmwardend's cgroup. */
static void engine_stop_scope(Engine *e) {
        int r;

        if (!e->scope)
                return;
        r = engine_scope_kill(e->scope);
        if (r < 0)
                log_warning_errno(r, "Failed to end what the engine left in %s: %m", e->scope);
}

static void engine_exited(Engine *e, bool failed) {
        int r;

        e->child_source = sd_event_source_disable_unref(e->child_source);
        e->pidfd_source = sd_event_source_disable_unref(e->pidfd_source);
        e->pidfd = safe_close(e->pidfd);
        e->pid = e->main_pid = 0;
        e->namespace_inode = 0;
        e->start_time = 0;
        e->adopted = false;
        engine_disarm(e);
        r = engine_record_remove(e->runtime_dir);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the engine record: %m");
        r = namespace_unpin(e->pin_path);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the engine namespace pin %s: %m", e->pin_path);

        if (e->stop_requested) {
                engine_stop_scope(e);
                engine_set_state(e, ENGINE_NONE);
                return;
        }
        engine_after_failure(e, failed);
}

static int on_engine_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);

        log_exit(e, si);
        e->last_exit_code = si->si_code;
        e->last_exit_status = si->si_status;
        engine_exited(e, !(si->si_code == CLD_EXITED && si->si_status == 0) || e->start_timed_out);
        return 0;
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* An adopted engine's pidfd turned readable: it exited. It is our child
 * only if this process re-executed itself; otherwise its status went to its
 * new parent. */
static int on_adopted_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);
        siginfo_t si = {};

        if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid > 0) {
                (void) on_engine_exit(s, &si, e);
                return 0;
        }
        log_full(e->stop_requested ? LOG_NOTICE : LOG_ERR,
                 "Engine (PID %d) exited; it was adopted, so its exit status is unknown.", (int) e->pid);
        e->last_exit_code = e->last_exit_status = 0;
        engine_exited(e, !e->stop_requested);
        return 0;
}

/* Whether pid is the engine or lives in its namespace. */
static bool pid_is_engine(const Engine *e, pid_t pid) {
        uint64_t inode;

        if (pid <= 0)
                return false;
        if (pid == e->pid || pid == e->main_pid)
                return true;
        /* Like NotifyAccess=all: anything inside the engine's namespace. */
        return proc_read_mntns(AT_FDCWD, pid, &inode) >= 0 && inode == e->namespace_inode;
}

/* Whether a notification comes from the engine. A short-lived helper (an
 * sd_notify() from a script's child, systemd-notify --no-block) may be gone,
 * or a zombie without namespaces, by the time we read its message, and its
 * namespace can no longer be checked; SCM_PIDFD would pin it, but needs
 * Linux 6.5. Such a message is accepted from root only: root may forge the
 * engine's own pid in SCM_CREDENTIALS anyway, so this trusts nobody who could
 * not already speak for the engine, while anyone else on the host stays
 * shut out (and the socket, mode 0600, lets only root send anyway). */
static bool sender_is_engine(const Engine *e, const struct ucred *cred) {
        uint64_t inode;
        int r;

        if (pid_is_engine(e, cred->pid))
                return true;
        if (cred->pid <= 0 || cred->uid != 0)
                return false;
        r = proc_read_mntns(AT_FDCWD, cred->pid, &inode);
        if (!proc_error_is_vanished(r))
                return false;
        log_debug("Accepting a notification from PID %d, which is gone: it came from root.", (int) cred->pid);
        return true;
}

static void engine_apply_notification(Engine *e, const NotifyMessage *m) {
        if (m->main_pid > 0 && m->main_pid != e->main_pid) {
                if (pid_is_engine(e, m->main_pid)) {
                        log_info("Engine main process is now PID %d.", (int) m->main_pid);
                        e->main_pid = m->main_pid;
                        engine_save_record(e);
                } else
                        log_warning("Ignoring MAINPID=%d from the engine: not in the engine namespace.",
                                    (int) m->main_pid);
        }
        if (m->status && (!e->status || !streq(e->status, m->status))) {
                free(e->status);
                e->status = strdup(m->status);
                engine_changed(e);
        }
        if (m->ready && e->config->type == ENGINE_TYPE_NOTIFY)
                engine_ready(e);
        if (m->stopping)
                log_info("Engine says it is stopping.");
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);
        NotifyMessage m;
        struct ucred cred;
        char buf[4096];
        ssize_t n;

        n = notify_socket_receive(fd, buf, sizeof(buf), &cred);
        if (n == -EAGAIN || n == -EINTR)
                return 0;
        if (n < 0) {
                log_warning_errno((int) n, "Failed to receive a notification from the engine, ignoring: %m");
                return 0;
        }
        if (!sender_is_engine(e, &cred)) {
                log_warning("Ignoring notification from PID %d (UID %d): not part of the engine.", (int) cred.pid,
                            (int) cred.uid);
                return 0;
        }
        if (notify_message_parse(buf, (size_t) n, &m) < 0)
                return log_oom();
        engine_apply_notification(e, &m);
        notify_message_done(&m);
        return 0;
}

static int engine_arm_readiness(Engine *e) {
        int r;

        switch (e->config->type) {
        case ENGINE_TYPE_SIMPLE:
                engine_ready(e);
                return 0;
        case ENGINE_TYPE_SOCKET:
                r = sd_event_add_time_relative(e->event, &e->ready_probe_source, CLOCK_MONOTONIC, 0, 0,
                                               on_ready_probe, e);
                if (r < 0)
                        return log_error_errno(r, "Failed to start probing %s: %m", e->config->ready_socket);
                (void) sd_event_source_set_description(e->ready_probe_source, "engine-ready-probe");
                _fallthrough_;
        default:
                return engine_arm_timer(e, e->config->start_timeout_usec, on_start_timeout, "engine-start-timeout");
        }
}

/* SpawnParams.before_exec: the engine into its scope. */
static void engine_enter_scope(pid_t pid, void *userdata) {
        Engine *e = ASSERT_PTR(userdata);
        int r;

        if (!e->scope)
                return;
        r = engine_scope_attach(e->scope, e->our_unit, pid);
        if (r < 0)
                log_warning_errno(r, "Failed to move the engine (PID %d) into %s; it stays in dmwardend's cgroup, "
                                     "and whatever stops dmwardend's unit stops it and every container too: %m",
                                  (int) pid, e->scope);
        else
                log_debug("Engine (PID %d) moved into %s.", (int) pid, e->scope);
}

int engine_start(Engine *e) {
        SpawnParams params = {
                .before_exec = engine_enter_scope,
                .userdata = e,
                .argv = e->config->exec_start,
                .propagation = e->config->propagation,
                .notify_socket = e->notify_address,
                .listen_fds = e->listen_fds,
                .n_listen_fds = e->n_listen_fds,
                .listen_fdnames = e->listen_fdnames,
                .pin_path = e->pin_path,
        };
        char reason[512] = "", buf[FORMAT_TIMESPAN_MAX];
        pid_t pid;
        int r;

        if (!e->config->exec_start)
                return -EINVAL;
        if (engine_is_alive(e))
                return -EBUSY;

        e->stop_requested = e->start_timed_out = false;
        if (!start_limit_allow(&e->start_limit, loop_now(e), e->config->start_limit_interval_usec,
                               e->config->start_limit_burst)) {
                log_error("Engine started more than %u times within %s: start limit hit, giving up. "
                          "Fix the engine, then restart dmwarden.",
                          e->config->start_limit_burst,
                          format_timespan(buf, sizeof(buf), e->config->start_limit_interval_usec));
                engine_disarm(e);
                engine_set_state(e, ENGINE_FAILED);
                return 0;
        }

        /* A pin left by a predecessor that died would keep its namespace,
         * and every device mounted in it, alive forever. */
        r = namespace_unpin(e->pin_path);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the stale namespace pin %s: %m", e->pin_path);

        r = engine_spawn(&params, &pid, reason, sizeof(reason));
        if (r < 0) {
                log_error_errno(r, "Failed to start the engine: %s", reason);
                e->started_usec = 0;
                engine_after_failure(e, true);
                return r;
        }

        e->pid = e->main_pid = pid;
        e->started_usec = loop_now(e);
        r = proc_read_mntns(AT_FDCWD, pid, &e->namespace_inode);
        if (r < 0)
                log_warning_errno(r, "Failed to read the engine's namespace inode: %m");
        e->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (e->pidfd < 0)
                log_warning_errno(negative_errno(), "Failed to open a pidfd for the engine (PID %d): %m", (int) pid);
        r = proc_read_start_time(pid, &e->start_time);
        if (r < 0)
                log_warning_errno(r, "Failed to read the engine's start time: %m");

        r = sd_event_add_child(e->event, &e->child_source, pid, WEXITED, on_engine_exit, e);
        if (r < 0) {
                /* Without a child source nobody would ever reap it. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                e->pid = e->main_pid = 0;
                return log_error_errno(r, "Failed to watch the engine process: %m");
        }
        (void) sd_event_source_set_description(e->child_source, "engine-exit");

        log_info("Started engine %s (PID %d) in mount namespace %lu, propagation %s, pinned at %s, in %s.",
                 e->config->exec_start[0], (int) pid, (unsigned long) e->namespace_inode,
                 propagation_to_string(e->config->propagation), e->pin_path,
                 e->scope ?: "dmwardend's own cgroup");
        engine_set_state(e, ENGINE_STARTING);
        engine_save_record(e);
        return engine_arm_readiness(e);
}

/* The pin of an adopted engine must name its namespace; pin it anew if not
 * (someone unmounted it, or a stale one is in the way). */
static void engine_check_pin(Engine *e) {
        struct stat st;
        int r;

        if (stat(e->pin_path, &st) == 0 && (uint64_t) st.st_ino == e->namespace_inode)
                return;
        log_notice("The engine namespace pin %s does not name the adopted engine's namespace; pinning it anew.",
                   e->pin_path);
        (void) namespace_unpin(e->pin_path);
        r = namespace_pin(e->pid, e->pin_path);
        if (r < 0)
                log_warning_errno(r, "Failed to pin the engine namespace at %s: %m", e->pin_path);
}

/* A record that names no engine is dropped; engine_start() then removes
 * the stale pin it may have left. */
static void engine_forget_record(Engine *e) {
        (void) engine_record_remove(e->runtime_dir);
}

int engine_adopt(Engine *e) {
        _cleanup_close_ int pidfd = -EBADF;
        EngineRecord rec;
        char why[128] = "";
        int r;

        r = engine_record_load(e->runtime_dir, &rec);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                log_warning_errno(r, "Ignoring the engine record in %s: %m", e->runtime_dir);
                engine_forget_record(e);
                return 0;
        }
        r = engine_record_verify(&rec, e->scope, &pidfd, why, sizeof(why));
        if (r < 0) {
                log_warning_errno(r, "Failed to check the recorded engine (PID %d), not adopting it: %m",
                                  (int) rec.pid);
                engine_forget_record(e);
                return 0;
        }
        if (r == 0) {
                log_info("Not adopting the recorded engine (PID %d): %s. Starting a new one.", (int) rec.pid, why);
                engine_forget_record(e);
                return 0;
        }

        r = sd_event_add_io(e->event, &e->pidfd_source, pidfd, EPOLLIN, on_adopted_exit, e);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the adopted engine (PID %d): %m", (int) rec.pid);
        (void) sd_event_source_set_description(e->pidfd_source, "engine-exit-adopted");
        e->pidfd = TAKE_FD(pidfd);
        e->pid = rec.pid;
        e->main_pid = rec.main_pid != rec.pid && pid_is_engine(e, rec.main_pid) ? rec.main_pid : rec.pid;
        e->namespace_inode = rec.namespace_inode;
        e->start_time = rec.start_time;
        e->adopted = true;
        e->started_usec = loop_now(e);
        engine_check_pin(e);

        log_notice("Adopted the engine (PID %d, main PID %d) that a previous dmwardend left running, in mount "
                   "namespace %lu, in %s.", (int) e->pid, (int) e->main_pid, (unsigned long) e->namespace_inode,
                   e->scope ?: "no scope (no systemd)");
        if (rec.ready) {
                engine_set_state(e, ENGINE_RUNNING);
                engine_save_record(e);
                return 1;
        }
        /* It had not said it was ready yet: wait for it as for a new start. */
        engine_set_state(e, ENGINE_STARTING);
        engine_save_record(e);
        (void) engine_arm_readiness(e);
        return 1;
}

int engine_prepare_reexec(Engine *e) {
        char value[32];

        if (e->n_listen_fds == 0)
                return 0;
        /* take_listen_fds() left them where systemd put them, at 3... */
        for (size_t i = 0; i < e->n_listen_fds; i++)
                if (e->listen_fds[i] != SD_LISTEN_FDS_START + (int) i ||
                    fcntl(e->listen_fds[i], F_SETFD, 0) < 0)
                        return -EBADF;
        (void) snprintf(value, sizeof(value), "%zu", e->n_listen_fds);
        if (setenv("LISTEN_FDS", value, 1) < 0)
                return negative_errno();
        (void) snprintf(value, sizeof(value), "%d", (int) getpid());
        if (setenv("LISTEN_PID", value, 1) < 0)
                return negative_errno();
        if (e->listen_fdnames && setenv("LISTEN_FDNAMES", e->listen_fdnames, 1) < 0)
                return negative_errno();
        return 0;
}

int engine_stop(Engine *e) {
        e->stop_requested = true;
        if (!engine_is_alive(e)) {
                engine_disarm(e);
                engine_set_state(e, ENGINE_NONE);
                return 0;
        }
        log_info("Stopping the engine (PID %d).", (int) e->pid);
        return engine_terminate(e);
}

void engine_set_config(Engine *e, const Config *config) {
        e->config = config;
}

/* Where systemd runs, the engine gets a scope of its own; elsewhere it stays
 * in our cgroup, which is said once, loudly. */
static int engine_open_scope(Engine *e) {
        const char *why = NULL;
        int r;

        r = engine_scope_name(&e->scope, &e->our_unit, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_notice("No engine scope: %s. The engine runs in dmwardend's own cgroup; it still outlives "
                           "dmwardend and is adopted by the next one, but whatever stops that cgroup stops the "
                           "engine and every container with it.", why);
                return 0;
        }
        return 0;
}

int engine_new(sd_event *event, const Config *config, const char *runtime_dir, int *listen_fds,
               size_t n_listen_fds, const char *listen_fdnames, Engine **ret) {
        _cleanup_(engine_freep) Engine *e = NULL;
        int r;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->notify_fd = e->pidfd = -EBADF;
        e->event = sd_event_ref(event);
        e->config = config;
        /* The engine owns the inherited sockets from here on. */
        e->listen_fds = listen_fds;
        e->n_listen_fds = n_listen_fds;
        if (listen_fdnames) {
                e->listen_fdnames = strdup(listen_fdnames);
                if (!e->listen_fdnames)
                        return -ENOMEM;
        }
        if (asprintf(&e->pin_path, "%s/%s", runtime_dir, ENGINE_PIN_NAME) < 0)
                return -ENOMEM;
        e->runtime_dir = strdup(runtime_dir);
        if (!e->runtime_dir)
                return -ENOMEM;
        r = engine_open_scope(e);
        if (r < 0)
                return r;

        r = notify_socket_open(runtime_dir, &e->notify_fd, &e->notify_address);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &e->notify_source, e->notify_fd, EPOLLIN, on_notify, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(e->notify_source, "engine-notify");

        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        engine_disarm(e);
        sd_event_source_disable_unref(e->child_source);
        sd_event_source_disable_unref(e->pidfd_source);
        safe_close(e->pidfd);
        /* An engine still running outlives us, with its pin and record, for
         * the next dmwardend to adopt. Otherwise nothing of ours may stay. */
        if (e->pid > 0)
                log_info("Leaving the engine (PID %d) running, for the next dmwardend to adopt.", (int) e->pid);
        else if (e->pin_path)
                (void) namespace_unpin(e->pin_path);
        sd_event_source_disable_unref(e->notify_source);
        safe_close(e->notify_fd);
        for (size_t i = 0; i < e->n_listen_fds; i++)
                safe_close(e->listen_fds[i]);
        free(e->listen_fds);
        free(e->listen_fdnames);
        if (e->notify_address && e->pid <= 0)
                (void) unlink(e->notify_address);
        free(e->notify_address);
        free(e->pin_path);
        free(e->runtime_dir);
        free(e->scope);
        free(e->our_unit);
        free(e->status);
        sd_event_unref(e->event);
        free(e);
        return NULL;
}
