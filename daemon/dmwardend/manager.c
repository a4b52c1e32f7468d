/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/strv.h"
#include "bus/bus.h"
#include "dmwardend/manager.h"
#include "engine/foreign-containerd.h"
#include "engine/namespace-pin.h"
#include "holders/proc-util.h"
#include "reap/leak-handler.h"
#include "watch/device-source.h"

int manager_new(const char *config_path, Config *config, Manager **ret) {
        _cleanup_(config_freep) Config *owned = config;
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *runtime_dir;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return -ENOMEM;

        /* systemd's RuntimeDirectory= may list several; the first is ours. */
        runtime_dir = getenv("RUNTIME_DIRECTORY");
        m->runtime_dir = runtime_dir ? strndup(runtime_dir, strcspn(runtime_dir, ":"))
                                     : strdup(RUNTIME_DIR_DEFAULT);
        if (!m->runtime_dir)
                return -ENOMEM;

        r = sd_event_new(&m->event);
        if (r < 0)
                return r;

        m->walk = HOLDER_WALK_PROC;
        m->walk_unavailable = strdup("not loaded");
        if (!m->walk_unavailable)
                return -ENOMEM;

        m->config = TAKE_PTR(owned);
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->sigterm_source);
        sd_event_source_disable_unref(m->sigint_source);
        sd_event_source_disable_unref(m->sighup_source);
        sd_event_source_disable_unref(m->sigusr2_source);
        m->bus = bus_free(m->bus);
        manager_space_done(m);
        /* Before the watch: it holds pointers to the watch's devices. */
        m->leak_handler = leak_handler_free(m->leak_handler);
        m->watch = device_watch_free(m->watch);
        manager_walk_done(m);
        m->watched = engine_watched_free(m->watched);
        if (m->engine) {
                /* An engine left running keeps its pin below the runtime
                 * directory's mount, for the next dmwardend. */
                bool keep = engine_is_alive(m->engine);

                m->engine = engine_free(m->engine);
                if (!keep)
                        (void) runtime_dir_release(m->runtime_dir);
        }
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m->runtime_dir);
        free(m->device_source_dir);
        free(m);
        return NULL;
}

/* Watch-only: the process whose namespace is the engine's; 0 while none. */
static pid_t manager_watched_pid(const Manager *m) {
        return m->watched ? engine_watched_pid(m->watched) : 0;
}

/* The engine namespace's inode: the engine's, or the watched process's. */
static uint64_t manager_engine_namespace(const Manager *m) {
        if (m->engine)
                return m->engine->namespace_inode;
        return m->watched ? engine_watched_namespace(m->watched) : 0;
}

int manager_set_device_source_dir(Manager *m, const char *dir) {
        char *copy = strdup(dir);

        if (!copy)
                return -ENOMEM;
        free(m->device_source_dir);
        m->device_source_dir = copy;
        return 0;
}

void manager_set_argv(Manager *m, char **argv) {
        m->argv = argv;
}

void manager_set_config_flags(Manager *m, ConfigLoadFlags flags) {
        m->config_flags = flags;
}

static void manager_exit(Manager *m, int status) {
        m->exit_status = status;
        (void) sd_event_exit(m->event, status);
}

static void manager_update_status(Manager *m) {
        const Engine *e = m->engine;
        char status[512];

        if (!e && manager_watched_pid(m) <= 0)
                (void) snprintf(status, sizeof(status), "Watch-only: no engine running (waiting for PIDFile=).");
        else if (!e)
                (void) snprintf(status, sizeof(status), "Watch-only: engine namespace %" PRIu64 " (PID %d).",
                                manager_engine_namespace(m), (int) manager_watched_pid(m));
        else if (e->state == ENGINE_RUNNING)
                (void) snprintf(status, sizeof(status), "Engine running (PID %d)%s%s", (int) e->main_pid,
                                e->status ? ": " : ".", strempty(e->status));
        else
                (void) snprintf(status, sizeof(status), "Engine %s.", engine_state_to_string(e->state));
        (void) sd_notifyf(false, "STATUS=%s", status);
}

/* READY=1 once the engine is up (or there is none) and the first scan of
 * the devices is done. */
static void manager_maybe_ready(Manager *m) {
        if (m->ready_sent || !m->watch || !m->first_scan_done)
                return;
        if (m->engine && m->engine->state != ENGINE_RUNNING)
                return;
        m->ready_sent = true;
        (void) sd_notify(false, "READY=1");
}

/* Everything that mounts thin devices for the engine must live in its
 * namespace; a containerd elsewhere (containerd.service left running, which
 * dockerd attaches to when its socket exists) is the usual mis-set-up. Only a
 * warning: we cannot tell cheaply whether the engine really uses it. */
static void manager_warn_foreign_containerd(Manager *m) {
        _cleanup_free_ ForeignProcess *found = NULL;
        _cleanup_close_ int proc_fd = -EBADF;
        const Engine *e = m->engine;
        size_t n = 0;
        int r;

        proc_fd = proc_open();
        if (proc_fd < 0) {
                log_debug_errno(proc_fd, "Failed to open /proc, not looking for containerd: %m");
                return;
        }
        r = foreign_containerd_find(proc_fd, e->namespace_inode, e->pid, &found, &n);
        if (r < 0) {
                log_debug_errno(r, "Failed to look for containerd outside the engine namespace, ignoring: %m");
                return;
        }
        for (size_t i = 0; i < n; i++)
                log_warning("containerd (PID %d) runs in mount namespace %" PRIu64 ", not in the engine's (%lu): "
                            "if the engine uses it, its containers' mounts are made outside the engine namespace. "
                            "Stop and disable containerd.service and let the engine start its own.",
                            (int) found[i].pid, found[i].mntns, (unsigned long) e->namespace_inode);
}

static void on_engine_changed(Engine *e, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);

        manager_update_status(m);

        if (e->state == ENGINE_RUNNING && m->containerd_checked_pid != e->pid) {
                m->containerd_checked_pid = e->pid;
                manager_warn_foreign_containerd(m);
        }
        if (m->watch)
                device_watch_engine_changed(m->watch);
        if (m->leak_handler)
                leak_handler_engine_changed(m->leak_handler);
        bus_manager_changed(m->bus, "EngineState", "EnginePID", "EngineNamespace", "EngineUnit", "EngineAdopted",
                            NULL);
        manager_maybe_ready(m);
        if (m->stopping && !engine_is_alive(e)) {
                manager_exit(m, EXIT_SUCCESS);
                return;
        }
        /* An engine that never came up is a failed start of the service,
         * which systemd should see; one that failed later is reported and
         * the daemon stays to watch what it left behind. */
        if (e->state == ENGINE_FAILED && !m->ready_sent) {
                log_error("The engine never became ready; exiting.");
                manager_exit(m, EXIT_FAILURE);
        }
}

static void manager_begin_stop(Manager *m) {
        if (m->stopping)
                return;
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
        if (m->engine && engine_is_alive(m->engine))
                (void) engine_stop(m->engine);
        else
                manager_exit(m, EXIT_SUCCESS);
}

int manager_reload(Manager *m) {
        _cleanup_strv_free_ char **errors = NULL;
        Config *config = NULL;
        int r;

        r = config_load(m->config_path, m->config_flags, &config, &errors);
        if (r == -EINVAL) {
                for (char **e = errors; e && *e; e++)
                        log_error("%s", *e);
                return log_error_errno(r, "Configuration %s rejected, keeping the running one.",
                                       m->config_path);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration %s, keeping the running one: %m",
                                       m->config_path);

        manager_walk_reloaded(m, config);
        /* The engine keeps running as it was started; a changed ExecStart=
         * or Propagation= applies at its next start. */
        if (m->engine)
                engine_set_config(m->engine, config);
        if (m->watch)
                device_watch_set_config(m->watch, config);
        if (m->leak_handler)
                leak_handler_set_config(m->leak_handler, config);
        if (m->bus)
                bus_set_config(m->bus, config);
        config_free(m->config);
        m->config = config;
        bus_manager_changed(m->bus, "DefaultAction", "Propagation", NULL);
        log_info("Configuration %s reloaded.", m->config_path);
        return 0;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);

        log_info("Received SIG%s, stopping.", sigabbrev_np((int) si->ssi_signo));
        manager_begin_stop(m);
        return 0;
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);
        int r;

        (void) sd_notify(false, "RELOADING=1");
        (void) manager_reload(m);
        /* systemctl reload means "reload the service", and the engine is
         * most of the service: dockerd re-reads daemon.json on SIGHUP. */
        if (m->engine && engine_is_alive(m->engine)) {
                r = engine_kill(m->engine, SIGHUP);
                if (r < 0)
                        log_warning_errno(r, "Failed to forward SIGHUP to the engine: %m");
        }
        (void) sd_notify(false, "READY=1");
        return 0;
}

/* The upgrade path: the new binary takes over without touching the engine.
 * Same PID, so systemd sees a reload, not a restart; the engine, its scope,
 * pin and record stay, and the new dmwardend adopts the engine. */
static int on_reexec_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);
        int r;

        if (!m->argv || !m->argv[0] || m->stopping)
                return 0;
        if (m->engine) {
                r = engine_prepare_reexec(m->engine);
                if (r < 0) {
                        log_error_errno(r, "Failed to hand the inherited sockets on, not re-executing: %m");
                        return 0;
                }
        }
        log_notice("Received SIGUSR2: re-executing %s; the engine%s keeps running.", m->argv[0],
                   m->engine && engine_is_alive(m->engine) ? "" : " (none running)");
        (void) sd_notify(false, "RELOADING=1\nSTATUS=Re-executing.");
        /* The signals stay blocked across execve(): one that arrives now
         * waits for the new dmwardend instead of killing us. */
        execv(m->argv[0], m->argv);
        log_error_errno(negative_errno(), "Failed to re-execute %s, carrying on: %m", m->argv[0]);
        (void) sd_notify(false, "READY=1");
        manager_update_status(m);
        return 0;
}

static int add_signal_source(Manager *m, int sig, sd_event_signal_handler_t handler,
                             const char *description, sd_event_source **ret) {
        sigset_t mask;
        int r;

        /* sd-event needs the signal blocked to receive it through signalfd. */
        sigemptyset(&mask);
        sigaddset(&mask, sig);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(negative_errno(), "Failed to block SIG%s: %m", sigabbrev_np(sig));

        r = sd_event_add_signal(m->event, ret, sig, handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIG%s: %m", sigabbrev_np(sig));
        (void) sd_event_source_set_description(*ret, description);
        return 0;
}

/* Takes the sockets systemd passed us (socket activation), for the engine. */
static int take_listen_fds(int **ret_fds, size_t *ret_n, char **ret_names) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ int *fds = NULL;
        int n;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to take the sockets passed by systemd: %m");
        *ret_n = (size_t) n;
        *ret_names = NULL;
        *ret_fds = NULL;
        if (n == 0)
                return 0;

        fds = calloc((size_t) n, sizeof(int));
        if (!fds)
                return log_oom();
        for (int i = 0; i < n; i++)
                fds[i] = SD_LISTEN_FDS_START + i;

        if (names) {
                size_t len = 0;

                for (char **s = names; *s; s++)
                        len += strlen(*s) + 1;
                *ret_names = calloc(len + 1, 1);
                if (!*ret_names)
                        return log_oom();
                for (char **s = names; *s; s++) {
                        if (s != names)
                                strcat(*ret_names, ":");
                        strcat(*ret_names, *s);
                }
        }
        log_info("Passing %d socket%s from systemd on to the engine.", n, n == 1 ? "" : "s");
        *ret_fds = TAKE_PTR(fds);
        return 0;
}

/* The watched engine exited, or its successor was found. */
static void on_watched_changed(EngineWatched *w, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);

        (void) w;
        manager_update_status(m);
        if (m->watch)
                device_watch_engine_changed(m->watch);
        if (m->leak_handler)
                leak_handler_engine_changed(m->leak_handler);
        bus_manager_changed(m->bus, "EnginePID", "EngineNamespace", NULL);
}

static int manager_start_watch_only(Manager *m) {
        int r;

        r = engine_watched_new(m->event, m->config->pid_file, on_watched_changed, m, &m->watched);
        if (r < 0)
                return log_error_errno(r, "Failed to set up watch-only mode: %m");
        r = engine_watched_start(m->watched);
        if (r < 0)
                return r;
        manager_update_status(m);
        return 0;
}

static int manager_start_engine(Manager *m) {
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char *names = NULL;
        size_t n_fds = 0;
        int r;

        r = runtime_dir_prepare(m->runtime_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the runtime directory %s: %m", m->runtime_dir);

        r = take_listen_fds(&fds, &n_fds, &names);
        if (r < 0)
                return r;
        r = engine_new(m->event, m->config, m->runtime_dir, fds, n_fds, names, &m->engine);
        if (r < 0) {
                for (size_t i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
                return log_error_errno(r, "Failed to set up the engine supervisor: %m");
        }
        TAKE_PTR(fds); /* the engine owns them now */
        m->engine->on_change = on_engine_changed;
        m->engine->userdata = m;

        /* One a previous dmwardend left running is ours now: a crash,
         * restart or upgrade of dmwardend never stops the engine. */
        r = engine_adopt(m->engine);
        if (r != 0)
                return r < 0 ? r : 0;
        (void) sd_notify(false, "STATUS=Starting the engine.");
        /* A failed spawn is the restart policy's to retry; if the engine
         * never comes up, on_engine_changed() ends the daemon. */
        (void) engine_start(m->engine);
        return 0;
}

static void manager_engine_location(void *userdata, uint64_t *ret_mntns, pid_t *ret_pid) {
        Manager *m = ASSERT_PTR(userdata);

        *ret_mntns = 0;
        *ret_pid = -1;
        if (!m->engine) {
                *ret_mntns = manager_engine_namespace(m);
                *ret_pid = manager_watched_pid(m) > 0 ? manager_watched_pid(m) : -1;
        } else if (engine_is_alive(m->engine) && m->engine->state != ENGINE_STOPPING) {
                *ret_mntns = m->engine->namespace_inode;
                *ret_pid = m->engine->pid;
        }
}

static void on_device_changed(DeviceWatch *w, Device *d, DeviceEvent ev, DeviceState old_state, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);

        (void) w;
        if (ev == DEVICE_EVENT_CHANGED && d->state != old_state)
                log_info("Device %s: %s → %s.", d->info.name, device_state_to_string(old_state),
                         device_state_to_string(d->state));
        if (m->leak_handler)
                leak_handler_device_changed(m->leak_handler, d, ev, old_state);
        bus_device_changed(m->bus, d, ev, old_state);
}

static bool manager_engine_running(void *userdata) {
        const Manager *m = ASSERT_PTR(userdata);

        return !m->engine || m->engine->state == ENGINE_RUNNING;
}

static uint64_t engine_namespace(void *userdata) {
        return manager_engine_namespace(userdata);
}

static void on_holder_reaped(void *userdata, Device *d, const HolderRecord *h, const char *action,
                             const char *result) {
        Manager *m = ASSERT_PTR(userdata);

        bus_holder_reaped(m->bus, d, h, action, result);
}

static const LeakHandlerOps leak_handler_ops = {
        .engine_running = manager_engine_running,
        .engine_namespace = engine_namespace,
        .holder_reaped = on_holder_reaped,
};

static void on_first_scan(DeviceWatch *w, int r, const char *message, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);

        (void) w;
        (void) message;
        if (r == -ECANCELED)
                return;  /* stopping before it ended */
        m->first_scan_done = true;
        /* The pool fill warnings held back until now. */
        if (m->space_timer)
                manager_space_tick(m);
        manager_maybe_ready(m);
}

static int manager_start_devices(Manager *m) {
        _cleanup_(device_source_freep) DeviceSource *source = NULL;
        int r;

        r = m->device_source_dir ? device_source_dir_new(m->device_source_dir, &source)
                                 : device_source_dm_new(&source);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the device source: %m");
        r = device_watch_new(m->event, m->config, TAKE_PTR(source), manager_engine_location, on_device_changed, m,
                             &m->watch);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the device watch: %m");
        device_watch_set_walk(m->watch, m->walk, m->task_walk);
        r = leak_handler_new(m->event, m->config, m->watch, &leak_handler_ops, m, &m->leak_handler);
        if (r < 0)
                return log_error_errno(r, "Cannot set up leak handling: %m");
        r = device_watch_start(m->watch);
        if (r < 0)
                return log_error_errno(r, "Cannot start watching devices: %m");
        return manager_start_space(m);
}

static void manager_engine_info(void *userdata, BusEngineInfo *ret) {
        const Manager *m = ASSERT_PTR(userdata);

        *ret = (BusEngineInfo) {
                .state = m->engine ? m->engine->state : ENGINE_NONE,
                .pid = m->engine ? m->engine->main_pid : manager_watched_pid(m),
                .namespace_inode = manager_engine_namespace(m),
                .namespace_path = m->engine ? m->engine->pin_path : NULL,
                .unit = m->engine && engine_is_alive(m->engine) ? m->engine->scope : NULL,
                .adopted = m->engine && m->engine->adopted,
        };
}

static int manager_reload_from_bus(void *userdata) {
        return manager_reload(userdata);
}

static const BusOps bus_ops = {
        .engine_info = manager_engine_info,
        .reload = manager_reload_from_bus,
};

static int manager_start_bus(Manager *m) {
        int r;

        r = bus_new(&(Bus) {
                            .event = m->event,
                            .config_path = m->config_path,
                            .config = m->config,
                            .watch = m->watch,
                            .leak_handler = m->leak_handler,
                            .walk_unavailable = m->walk_unavailable,
                            .ops = &bus_ops,
                            .userdata = m,
                    },
                    &m->bus);
        if (r < 0)
                return r;
        return bus_start(m->bus);
}

int manager_start(Manager *m) {
        int r;

        r = add_signal_source(m, SIGTERM, on_stop_signal, "sigterm", &m->sigterm_source);
        if (r < 0)
                return r;
        r = add_signal_source(m, SIGINT, on_stop_signal, "sigint", &m->sigint_source);
        if (r < 0)
                return r;
        r = add_signal_source(m, SIGHUP, on_reload_signal, "sighup", &m->sighup_source);
        if (r < 0)
                return r;
        r = add_signal_source(m, SIGUSR2, on_reexec_signal, "sigusr2", &m->sigusr2_source);
        if (r < 0)
                return r;
        /* sd-event's child sources need SIGCHLD blocked too. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(negative_errno(), "Failed to block SIGCHLD: %m");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        r = m->config->exec_start ? manager_start_engine(m) : manager_start_watch_only(m);
        if (r < 0)
                return r;
        r = manager_start_devices(m);
        if (r < 0)
                return r;
        r = manager_start_bus(m);
        if (r < 0)
                log_warning_errno(r, "Running without the D-Bus interface: %m");
        /* Once the scans the start queued are over (they run off the loop),
         * and never before the bus is up. */
        r = device_watch_when_scanned(m->watch, on_first_scan, m);
        if (r < 0) {
                log_oom();
                m->first_scan_done = true;
        }
        manager_maybe_ready(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return m->exit_status;
}
