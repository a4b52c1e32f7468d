/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "basic/strv.h"
#include "holders/proc-util.h"
#include "reap/reap-protect.h"

static ProtectReason check_namespace(const ProtectPolicy *p, const ProtectSubject *s) {
        if (p->engine_mntns != 0 && s->mntns == p->engine_mntns)
                return PROTECT_ENGINE_NAMESPACE;
        /* Our own namespace is the host's: a device mounted there was
         * mounted by an operator, not leaked by unshare. */
        if (p->self_mntns != 0 && s->mntns == p->self_mntns)
                return PROTECT_SELF_NAMESPACE;
        return PROTECT_NONE;
}

static ProtectReason check_process(const ProtectPolicy *p, const ProtectSubject *s) {
        if (s->pid == 1)
                return PROTECT_PID1;
        if (s->pid <= 0 || s->pid == p->self_pid)
                return PROTECT_SELF;  /* no process to act on is never fair game */
        if (s->flags & PROC_PF_KTHREAD)
                return PROTECT_KERNEL_THREAD;
        if (p->engine_pid > 0 && s->pid == p->engine_pid)
                return PROTECT_ENGINE;
        for (size_t i = 0; p->engine_pid > 0 && i < s->n_ancestors; i++)
                if (s->ancestors[i] == p->engine_pid)
                        return PROTECT_ENGINE_CHILD;
        if (p->engine_mntns != 0 && s->mntns == p->engine_mntns)
                return PROTECT_ENGINE_NAMESPACE;
        /* As for detach: a process of the host namespace holds the device
         * the way an operator's would, not by unshare. */
        if (p->self_mntns != 0 && s->mntns == p->self_mntns)
                return PROTECT_SELF_NAMESPACE;
        if (!isempty(s->unit) && !isempty(p->self_unit) && streq(s->unit, p->self_unit))
                return PROTECT_OWN_UNIT;
        if (!isempty(s->unit) && strv_contains(p->protect_units, s->unit))
                return PROTECT_UNIT;
        if (!isempty(s->comm) && strv_contains(p->protect_comms, s->comm))
                return PROTECT_COMM;
        return PROTECT_NONE;
}

ProtectReason reap_protect_check(const ProtectPolicy *p, const ProtectSubject *s, ReapAction action) {
        switch (action) {
        case REAP_DETACH:
                return check_namespace(p, s);
        case REAP_KILL:
        case REAP_RESTART_UNIT:
                return check_process(p, s);
        default:
                return PROTECT_NONE;
        }
}

static const char *const reason_text[_PROTECT_REASON_MAX] = {
        [PROTECT_NONE] = "not protected",
        [PROTECT_PID1] = "PID 1",
        [PROTECT_SELF] = "dmwardend itself",
        [PROTECT_KERNEL_THREAD] = "kernel thread",
        [PROTECT_ENGINE] = "the engine",
        [PROTECT_ENGINE_CHILD] = "a child of the engine",
        [PROTECT_ENGINE_NAMESPACE] = "in the engine namespace",
        [PROTECT_SELF_NAMESPACE] = "in the host mount namespace dmwardend runs in",
        [PROTECT_OWN_UNIT] = "dmwardend's own unit",
        [PROTECT_UNIT] = "protected unit",
        [PROTECT_COMM] = "protected comm",
};

const char *reap_protect_describe(ProtectReason r, const ProtectSubject *s, char *buf, size_t size) {
        const char *what = r >= 0 && r < _PROTECT_REASON_MAX ? reason_text[r] : "protected";

        /* The rules that name something say which. */
        if (IN_SET(r, PROTECT_OWN_UNIT, PROTECT_UNIT))
                (void) snprintf(buf, size, "%s %s", what, strempty(s->unit));
        else if (r == PROTECT_COMM)
                (void) snprintf(buf, size, "%s %s", what, strempty(s->comm));
        else
                (void) snprintf(buf, size, "%s", what);
        return buf;
}
