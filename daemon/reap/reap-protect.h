/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What reaping must never touch, whatever the policy: PID 1, dmwardend,
 * the engine and its children, kernel threads, ProtectUnits= and
 * ProtectComms=; and the engine's and the daemon's own mount namespaces
 * (detach in them, or kill and restart-unit of their processes). Pure:
 * every fact comes in as an argument. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"

typedef struct ProtectPolicy {
        pid_t self_pid;
        const char *self_unit;          /* dmwardend's unit; NULL: none */
        uint64_t self_mntns;            /* dmwardend's (the host's) namespace */
        pid_t engine_pid;               /* <= 0: no engine process */
        uint64_t engine_mntns;          /* 0: none */
        char *const *protect_units;
        char *const *protect_comms;
} ProtectPolicy;

/* A process an action would hit, or (pid 0) a namespace to detach in. */
typedef struct ProtectSubject {
        pid_t pid;
        unsigned flags;                 /* PF_* of /proc/PID/stat */
        uint64_t mntns;
        const char *comm;
        const char *unit;
        const pid_t *ancestors;         /* parent, its parent, ... */
        size_t n_ancestors;
} ProtectSubject;

typedef enum ProtectReason {
        PROTECT_NONE,
        PROTECT_PID1,
        PROTECT_SELF,
        PROTECT_KERNEL_THREAD,
        PROTECT_ENGINE,
        PROTECT_ENGINE_CHILD,
        PROTECT_ENGINE_NAMESPACE,
        PROTECT_SELF_NAMESPACE,
        PROTECT_OWN_UNIT,
        PROTECT_UNIT,
        PROTECT_COMM,
        _PROTECT_REASON_MAX,
} ProtectReason;

/* Why action may not touch s, or PROTECT_NONE. detach acts on s's
 * namespace, kill and restart-unit on the process; report on nothing. */
ProtectReason reap_protect_check(const ProtectPolicy *p, const ProtectSubject *s, ReapAction action);

/* "protected unit systemd-journald.service", "PID 1", ... into buf. */
const char *reap_protect_describe(ProtectReason r, const ProtectSubject *s, char *buf, size_t size);
