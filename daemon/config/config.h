/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwarden's configuration: every key with its compiled-in default, loaded
 * from the main file and its drop-in directory. Owns the Config struct. */

#include <stdio.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "shared/holder-walk.h"
#include "shared/reap-action.h"

#define CONFIG_DEFAULT_PATH DMWARDEN_CONFIG_PATH /* sysconfdir/dmwarden/dmwarden.conf */
/* Where Debian's prometheus-node-exporter reads *.prom files. */
#define DMWARDEN_METRICS_DIRECTORY "/var/lib/prometheus/node-exporter"

typedef enum Propagation {
        PROPAGATION_SLAVE,
        PROPAGATION_PRIVATE,
        _PROPAGATION_MAX,
} Propagation;

/* How dmwarden learns that the engine is ready. */
typedef enum EngineType {
        ENGINE_TYPE_NOTIFY,     /* the engine sends READY=1 to NOTIFY_SOCKET */
        ENGINE_TYPE_SIMPLE,     /* ready once exec() succeeded */
        ENGINE_TYPE_SOCKET,     /* ready once ReadySocket= accepts a connection */
        _ENGINE_TYPE_MAX,
} EngineType;

typedef enum RestartMode {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
        _RESTART_MAX,
} RestartMode;

typedef enum RemoveMode {
        REMOVE_DEFERRED,
        REMOVE_IMMEDIATE,
        REMOVE_NO,
        _REMOVE_MAX,
} RemoveMode;

typedef struct Config {
        /* [Engine] */
        char **exec_start;              /* NULL: watch-only mode */
        EngineType type;
        char *ready_socket;
        usec_t start_timeout_usec;
        Propagation propagation;
        char *pid_file;
        RestartMode restart;
        usec_t restart_usec;
        usec_t stop_timeout_usec;
        usec_t start_limit_interval_usec;
        unsigned start_limit_burst;

        /* [Watch] */
        char **targets;
        char **names;                   /* fnmatch globs; empty: any */
        char **uuid_prefixes;           /* empty: any */
        char **pools;                   /* fnmatch globs on the pool name; empty: any */
        usec_t reconcile_usec;
        usec_t settle_usec;             /* unmounted and held this long: let go */
        usec_t scan_timeout_usec;       /* a holder scan's deadline; 0: none */
        HolderWalk process_walk;        /* how scans find processes; read at start-up */
        size_t udev_receive_buffer;     /* bytes; the kernel doubles it */

        /* [Policy] */
        ReapAction action;
        usec_t grace_usec;
        char **protect_units;
        char **protect_comms;
        RemoveMode remove;

        /* [Pool] */
        usec_t pool_refresh_usec;       /* space re-read (and metrics written) this often */
        unsigned pool_warn_percent;     /* 0: no fill warning */

        /* [Metrics] */
        char *metrics_directory;        /* node_exporter's textfile directory; NULL: off */
} Config;

/* A Config holding every default. */
int config_new(Config **ret);
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

typedef enum ConfigLoadFlags {
        /* path itself must exist: one named on the command line is meant to
         * be read, and running on the defaults instead would hide a typo.
         * Without it a missing file means the defaults (plus drop-ins). */
        CONFIG_LOAD_REQUIRED = 1 << 0,
} ConfigLoadFlags;

/* Loads path and then path.d/ *.conf in byte order, later assignments
 * winning. On -EINVAL every rejected line (a missing required file among
 * them) is in *ret_errors and nothing is returned in *ret; other negative
 * errno on memory. */
int config_load(const char *path, ConfigLoadFlags flags, Config **ret, char ***ret_errors);

/* The same for one file's text already in memory, without drop-ins; path
 * only names it in the errors. */
int config_load_buffer(const char *path, const char *data, size_t size, Config **ret, char ***ret_errors);

/* Prints every key, defaults included, in the file's own syntax. */
int config_dump_all(const Config *c, FILE *out);

const char *engine_type_to_string(EngineType t);
const char *propagation_to_string(Propagation p);
const char *restart_mode_to_string(RestartMode m);
const char *remove_mode_to_string(RemoveMode m);
