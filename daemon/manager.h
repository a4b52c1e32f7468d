/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager owns everything the daemon has: the event loop, the active
 * configuration, and (as later parts land) the engine, devices and bus. */

#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"

typedef struct Manager {
        sd_event *event;
        char *config_path;
        Config *config;

        sd_event_source *sigterm_source;
        sd_event_source *sigint_source;
        sd_event_source *sighup_source;
} Manager;

/* Takes ownership of config, also on failure. */
int manager_new(const char *config_path, Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Sets up event sources; separate from allocation so a half-started manager
 * is still freed cleanly. */
int manager_start(Manager *m);
/* Runs the loop until a stop signal; returns the exit status. */
int manager_run(Manager *m);
/* Re-reads the configuration; a bad one is rejected and the old one kept. */
int manager_reload(Manager *m);
