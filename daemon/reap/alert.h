/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Journal alerts about leaks: one kind per MESSAGE_ID (alert-ids.h), with
 * the structured fields docs/design.md lists and a MESSAGE that alone tells an
 * operator what happened and what to do. Building is pure; sending goes to
 * the journal, or to the daemon's log where there is none. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/macro.h"

typedef enum AlertKind {
        ALERT_LEAK_DETECTED,
        ALERT_HOLDER_REAPED,
        ALERT_REAP_FAILED,      /* failed, or refused by policy */
        ALERT_LEAK_STUCK,
        ALERT_DEVICE_RELEASED,
        ALERT_DEVICE_REMOVED,
        ALERT_REMOVAL_FAILED,
        ALERT_POOL_FILL,        /* about a pool: dm_name is the pool's */
        _ALERT_KIND_MAX,
} AlertKind;

typedef struct Alert {
        AlertKind kind;
        const char *dm_name;
        const char *dm_uuid;            /* NULL or "": none */
        const char *dm_pool;            /* thin pool; NULL or "": not known */
        dev_t dev;
        /* The holder, if the alert is about one: */
        pid_t holder_pid;               /* 0: no process (a pinned namespace) */
        const char *holder_comm;
        const char *holder_unit;
        uint64_t holder_mntns;          /* 0: not known */
        const char *holder_kind;        /* "mount", "cwd", "fd", ... */
        const char *mountpoint;         /* mount point or pinned path, inside
                                         * the holder's namespace */
        const char *action;             /* "detach", "kill", ... or NULL */
        const char *result;             /* "ok", "refused: ...", an error */
        unsigned n_more_holders;        /* references beyond the one named */
        const char *let_go;             /* how the engine let the device go:
                                         * "deferred-remove", "forced-remove",
                                         * "settled"; NULL: not known */
        unsigned n_suppressed;          /* alerts the rate limit dropped before */
        /* The bytes the device maps in its pool, which the leak keeps from
         * everyone else; told only if known */
        uint64_t mapped_bytes;
        bool mapped_bytes_known;
        /* ALERT_POOL_FILL: how full the pool is (per mille), the level
         * that was crossed (percent), and the leaked devices in it with
         * what they hold ("a (1.0 GiB), b (12.0 MiB)"; "" for none) */
        unsigned data_permille;
        unsigned metadata_permille;
        unsigned warn_percent;
        uint64_t leaked_bytes;
        const char *leaked_devices;
} Alert;

/* The MESSAGE_ID and syslog priority of a kind. */
const char *alert_kind_id(AlertKind k);
int alert_kind_priority(AlertKind k);
const char *alert_kind_to_string(AlertKind k);

/* The journal fields of a, "KEY=value" each (values may hold any byte but
 * NUL), MESSAGE_ID, PRIORITY and MESSAGE first. Pure. */
int alert_build_fields(const Alert *a, char ***ret);

/* Sends a: structured to the journal when the daemon logs there and
 * journald listens, else as one line to the daemon's log, so an alert is
 * never lost. */
int alert_send(const Alert *a);
