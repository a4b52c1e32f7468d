/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager owns everything the daemon has: the event loop, the active
 * configuration, the engine, and (as later parts land) devices and bus. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "bus/bus.h"
#include "config/config.h"
#include "engine/engine.h"
#include "engine/engine-watched.h"
#include "holders/task-walk.h"
#include "dmwardend/metrics-file.h"
#include "reap/leak-handler.h"
#include "reap/pool-warning.h"
#include "watch/device-watch.h"

typedef struct Manager {
        sd_event *event;
        char *config_path;
        ConfigLoadFlags config_flags;   /* how a reload reads config_path */
        Config *config;
        char *runtime_dir;

        Engine *engine;                 /* NULL in watch-only mode */
        EngineWatched *watched;         /* watch-only: whose namespace is the engine's */

        DeviceWatch *watch;
        LeakHandler *leak_handler;      /* alerts, reaping, removal */
        /* How scans find processes (manager-walk.c): ProcessWalk= as at
         * start-up, the BPF programs (NULL: none), and why there are none
         * ("" when there are). */
        HolderWalk walk;
        TaskWalk *task_walk;
        char *walk_unavailable;
        char *device_source_dir;        /* tests: a directory source instead of dm */

        Bus *bus;                       /* NULL when running without the bus */

        /* Pool space, its warning and the metrics: manager-space.c */
        sd_event_source *space_timer;
        PoolWarnings pool_warnings;
        MetricsFile *metrics_file;

        pid_t containerd_checked_pid;   /* the engine we last looked for a foreign containerd for */

        bool first_scan_done;           /* READY=1 waits for it */
        bool ready_sent;
        bool stopping;
        int exit_status;

        sd_event_source *sigterm_source;
        sd_event_source *sigint_source;
        sd_event_source *sighup_source;
        sd_event_source *sigusr2_source;

        char **argv;                    /* borrowed from main(): how to re-execute */
} Manager;

/* Takes ownership of config, also on failure. */
int manager_new(const char *config_path, Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Use a directory of device descriptions instead of device-mapper (the
 * privileged tests' stand-in). Call before manager_start(). */
int manager_set_device_source_dir(Manager *m, const char *dir);

/* The command line to re-execute with (SIGUSR2): borrowed, must live on. */
void manager_set_argv(Manager *m, char **argv);

/* How manager_reload() loads the configuration: as it was at start-up. */
void manager_set_config_flags(Manager *m, ConfigLoadFlags flags);

/* Loads the BPF task walk unless ProcessWalk=proc, and logs which walk the
 * scans will use. Before manager_start(); without it (tests) scans read
 * /proc. -ENOMEM, or with ProcessWalk=bpf why the walk cannot be loaded
 * (logged): the daemon must not start then. */
int manager_load_walk(Manager *m);
/* A reload cannot change the walk; says so when config would. */
void manager_walk_reloaded(Manager *m, const Config *config);
void manager_walk_done(Manager *m);

/* Sets up event sources and starts the engine; separate from allocation so
 * a half-started manager is still freed cleanly. */
int manager_start(Manager *m);
/* Runs the loop until stopped; returns the process exit status. */
int manager_run(Manager *m);
/* Starts the space timer: every [Pool] RefreshSec= it re-reads the space
 * of devices and pools, checks the fill warning and writes the metrics. */
int manager_start_space(Manager *m);
/* One tick of it, now (tests, and the first one). */
void manager_space_tick(Manager *m);
void manager_space_done(Manager *m);

/* Re-reads the configuration; a bad one is rejected and the old one kept. */
int manager_reload(Manager *m);
