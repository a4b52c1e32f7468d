/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"
#include "strv.h"

int manager_new(const char *config_path, Config *config, Manager **ret) {
        _cleanup_(config_freep) Config *owned = config;
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return -ENOMEM;
        r = sd_event_new(&m->event);
        if (r < 0)
                return r;

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
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m);
        return NULL;
}

int manager_reload(Manager *m) {
        _cleanup_strv_free_ char **errors = NULL;
        Config *config = NULL;
        int r;

        r = config_load(m->config_path, &config, &errors);
        if (r == -EINVAL) {
                for (char **e = errors; e && *e; e++)
                        log_error("%s", *e);
                return log_error_errno(r, "Configuration %s rejected, keeping the running one.",
                                       m->config_path);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration %s, keeping the running one: %m",
                                       m->config_path);

        config_free(m->config);
        m->config = config;
        log_info("Configuration %s reloaded.", m->config_path);
        return 0;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, EXIT_SUCCESS);
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        (void) sd_notify(false, "RELOADING=1");
        (void) manager_reload(m);
        (void) sd_notify(false, "READY=1");
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
                return log_error_errno(negative_errno(), "Failed to block %s: %m", strsignal(sig));

        r = sd_event_add_signal(m->event, ret, sig, handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", strsignal(sig));
        (void) sd_event_source_set_description(*ret, description);
        return 0;
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

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notify(false, "READY=1\nSTATUS=Watching (no engine or device support yet).");
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
