/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/strv.h"
#include "config/conf-parser.h"
#include "config/config.h"

static const char *const engine_type_names[] = {
        [ENGINE_TYPE_NOTIFY] = "notify",
        [ENGINE_TYPE_SIMPLE] = "simple",
        [ENGINE_TYPE_SOCKET] = "socket",
        NULL,
};

static const char *const propagation_names[] = {
        [PROPAGATION_SLAVE] = "slave",
        [PROPAGATION_PRIVATE] = "private",
        NULL,
};

static const char *const restart_names[] = {
        [RESTART_NO] = "no",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_ALWAYS] = "always",
        NULL,
};

static const char *const remove_names[] = {
        [REMOVE_DEFERRED] = "deferred",
        [REMOVE_IMMEDIATE] = "immediate",
        [REMOVE_NO] = "no",
        NULL,
};

DEFINE_ENUM_TO_STRING(engine_type, EngineType, engine_type_names, _ENGINE_TYPE_MAX);

DEFINE_ENUM_TO_STRING(propagation, Propagation, propagation_names, _PROPAGATION_MAX);

DEFINE_ENUM_TO_STRING(restart_mode, RestartMode, restart_names, _RESTART_MAX);

DEFINE_ENUM_TO_STRING(remove_mode, RemoveMode, remove_names, _REMOVE_MAX);

/* Below a few events' worth a burst overflows at once; the kernel takes no
 * more than INT_MAX / 2. */
static const size_t udev_receive_buffer_range[2] = { 16 * 1024, 1024 * 1024 * 1024 };

#define ITEM(section, key, type, field, arg) \
        { section, key, &config_type_##type, offsetof(Config, field), arg }

/* The order here is the order of --dump-config and of the sample file. */
static const ConfigItem config_items[] = {
        ITEM("Engine", "ExecStart", command, exec_start, NULL),
        ITEM("Engine", "Type", enum, type, engine_type_names),
        ITEM("Engine", "ReadySocket", path, ready_socket, NULL),
        ITEM("Engine", "TimeoutStartSec", sec, start_timeout_usec, NULL),
        ITEM("Engine", "Propagation", enum, propagation, propagation_names),
        ITEM("Engine", "PIDFile", path, pid_file, NULL),
        ITEM("Engine", "Restart", enum, restart, restart_names),
        ITEM("Engine", "RestartSec", sec, restart_usec, NULL),
        ITEM("Engine", "StopTimeoutSec", sec, stop_timeout_usec, NULL),
        ITEM("Engine", "StartLimitIntervalSec", sec, start_limit_interval_usec, NULL),
        ITEM("Engine", "StartLimitBurst", unsigned, start_limit_burst, NULL),

        ITEM("Watch", "Target", strv, targets, NULL),
        ITEM("Watch", "Name", strv, names, NULL),
        ITEM("Watch", "UUIDPrefix", strv, uuid_prefixes, NULL),
        ITEM("Watch", "Pool", strv, pools, NULL),
        ITEM("Watch", "ReconcileSec", sec, reconcile_usec, NULL),
        ITEM("Watch", "SettleSec", sec, settle_usec, NULL),
        ITEM("Watch", "ScanTimeoutSec", sec, scan_timeout_usec, NULL),
        ITEM("Watch", "ProcessWalk", enum, process_walk, holder_walk_names),
        ITEM("Watch", "UdevReceiveBuffer", size, udev_receive_buffer, udev_receive_buffer_range),

        ITEM("Policy", "Action", enum, action, reap_action_names),
        ITEM("Policy", "GraceSec", sec, grace_usec, NULL),
        ITEM("Policy", "ProtectUnits", strv, protect_units, NULL),
        ITEM("Policy", "ProtectComms", comm_list, protect_comms, NULL),
        ITEM("Policy", "Remove", enum, remove, remove_names),

        ITEM("Pool", "RefreshSec", sec, pool_refresh_usec, NULL),
        ITEM("Pool", "WarnPercent", percent, pool_warn_percent, NULL),

        ITEM("Metrics", "TextfileDirectory", path, metrics_directory, NULL),
};

/* Units whose restart would hurt the whole host more than a leaked device;
 * PID 1, dmwardend, the engine and the processes of dmwardend's own mount
 * namespace are protected whatever this says. */
static const char *const default_protect_units[] = {
        "dbus.service",
        "systemd-journald.service",
        "systemd-logind.service",
        "systemd-udevd.service",
};

int config_new(Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        *c = (Config) {
                .type = ENGINE_TYPE_NOTIFY,
                .start_timeout_usec = 5 * USEC_PER_MINUTE,
                .propagation = PROPAGATION_SLAVE,
                .restart = RESTART_ON_FAILURE,
                .restart_usec = 2 * USEC_PER_SEC,
                .stop_timeout_usec = 90 * USEC_PER_SEC,
                .start_limit_interval_usec = 10 * USEC_PER_MINUTE,
                .start_limit_burst = 5,
                .reconcile_usec = 5 * USEC_PER_MINUTE,
                /* Past udev's probes; well inside Docker's 20 s of
                 * retries without deferred removal. */
                .settle_usec = 5 * USEC_PER_SEC,
                /* A scan of 10,000 processes takes about 1 s; four stalled
                 * scans in a row stay well inside WatchdogSec=2min. */
                .scan_timeout_usec = 10 * USEC_PER_SEC,
                .process_walk = HOLDER_WALK_AUTO,
                .udev_receive_buffer = 8 * 1024 * 1024,
                .action = REAP_DETACH,
                .grace_usec = 10 * USEC_PER_SEC,
                .remove = REMOVE_DEFERRED,
                /* A few ioctls per device: cheap, and fresher than a
                 * Prometheus scrape interval needs. */
                .pool_refresh_usec = 30 * USEC_PER_SEC,
                .pool_warn_percent = 90,
        };

        c->metrics_directory = strdup(DMWARDEN_METRICS_DIRECTORY);
        if (!c->metrics_directory)
                return -ENOMEM;

        r = strv_extend(&c->targets, "thin");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(default_protect_units); i++) {
                r = strv_extend(&c->protect_units, default_protect_units[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        strv_free(c->exec_start);
        free(c->pid_file);
        free(c->ready_socket);
        strv_free(c->targets);
        strv_free(c->names);
        strv_free(c->uuid_prefixes);
        strv_free(c->pools);
        strv_free(c->protect_units);
        strv_free(c->protect_comms);
        free(c->metrics_directory);
        free(c);
        return NULL;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_dropin_name(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

/* Drop-ins in byte order of their names (not locale order, so that the same
 * files always apply the same way). A missing directory means none; a file
 * where the directory should be is a mistake (-ENOTDIR). */
static int list_dropins(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        names = calloc(1, sizeof(char *));
        paths = calloc(1, sizeof(char *));
        if (!names || !paths)
                return -ENOMEM;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = TAKE_PTR(paths);
                        return 0;
                }
                return negative_errno();
        }
        while ((errno = 0, de = readdir(d))) {
                if (!is_dropin_name(de->d_name))
                        continue;
                r = strv_extend(&names, de->d_name);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        if (r < 0)
                return r;

        qsort(names, strv_length(names), sizeof(char *), compare_names);
        for (char **n = names; *n; n++) {
                char *p;

                if (asprintf(&p, "%s/%s", dir, *n) < 0)
                        return -ENOMEM;
                r = strv_consume(&paths, p);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(paths);
        return 0;
}

/* Appends one "PATH: why" line to the errors of a load. */
_printf_(2, 3) static int add_error_line(char ***errors, const char *format, ...) {
        char *line;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&line, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(errors, line);
}

/* Keys that only make sense together, checked once all files are in. */
static int check_combinations(const Config *c, const char *path, char ***errors) {
        int r;

        if (c->type == ENGINE_TYPE_SOCKET && !c->ready_socket) {
                r = add_error_line(errors, "%s: [Engine] Type=socket needs ReadySocket=", path);
                return r < 0 ? r : -EINVAL;
        }
        return 0;
}

/* Every load starts from the defaults and an empty list of errors. */
static int load_begin(Config **ret, char ***ret_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        char **errors;
        int r;

        r = config_new(&c);
        if (r < 0)
                return r;
        errors = calloc(1, sizeof(char *));
        if (!errors)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        *ret_errors = errors;
        return 0;
}

int config_load_buffer(const char *path, const char *data, size_t size, Config **ret, char ***ret_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        bool assigned[ELEMENTSOF(config_items)] = {};
        int r, k;

        r = load_begin(&c, &errors);
        if (r < 0)
                return r;

        r = config_parse_buffer(path, data, size, config_items, ELEMENTSOF(config_items), c, assigned, &errors);
        if (r == -ENOMEM)
                return r;
        k = check_combinations(c, path, &errors);
        if (k == -ENOMEM)
                return k;
        if (r < 0 || k < 0) {
                *ret_errors = TAKE_PTR(errors);
                return -EINVAL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* A drop-in that vanished after listing was never meant to apply, but a
 * dangling symlink is a mistake to point out. Returns -EINVAL when the file
 * is refused (the reasons appended to *errors). */
static int load_dropin(const char *path, Config *c, bool *assigned, char ***errors) {
        struct stat st;
        int r;

        r = config_parse_file(path, config_items, ELEMENTSOF(config_items), c, assigned, errors);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT) {
                if (lstat(path, &st) < 0)
                        return 0;
                r = add_error_line(errors, "%s: cannot read: dangling symbolic link", path);
                return r < 0 ? r : -EINVAL;
        }
        return r < 0 ? -EINVAL : 0;
}

/* Every drop-in of path.d/ is checked, even after one was refused, so that
 * one run names all the mistakes. Returns -EINVAL when any drop-in is
 * refused or the directory cannot be listed (the reasons in *errors). */
static int load_dropins(const char *path, Config *c, bool *assigned, char ***errors) {
        _cleanup_strv_free_ char **dropins = NULL;
        _cleanup_free_ char *dir = NULL;
        bool failed = false;
        int r;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = list_dropins(dir, &dropins);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = add_error_line(errors, "%s: cannot list drop-ins: %s", dir, strerror(-r));
                return r < 0 ? r : -EINVAL;
        }

        for (char **p = dropins; *p; p++) {
                r = load_dropin(*p, c, assigned, errors);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        failed = true;
        }
        return failed ? -EINVAL : 0;
}

int config_load(const char *path, ConfigLoadFlags flags, Config **ret, char ***ret_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        bool assigned[ELEMENTSOF(config_items)] = {};
        bool failed = false;
        int r;

        r = load_begin(&c, &errors);
        if (r < 0)
                return r;

        r = config_parse_file(path, config_items, ELEMENTSOF(config_items), c, assigned, &errors);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT && (flags & CONFIG_LOAD_REQUIRED)) {
                r = add_error_line(&errors, "%s: cannot read: %s", path, strerror(ENOENT));
                if (r < 0)
                        return r;
                failed = true;
        } else if (r < 0 && r != -ENOENT)
                failed = true;

        r = load_dropins(path, c, assigned, &errors);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                failed = true;

        r = check_combinations(c, path, &errors);
        if (r < 0 && r != -EINVAL)
                return r;
        if (r < 0)
                failed = true;

        if (failed) {
                *ret_errors = TAKE_PTR(errors);
                return -EINVAL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int config_dump_all(const Config *c, FILE *out) {
        return config_dump(config_items, ELEMENTSOF(config_items), c, out);
}
