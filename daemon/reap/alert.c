/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Journal alerts: the fields and the operator's message are built from an
 * Alert alone (pure, so the unit suite checks them); sending is apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "basic/escape.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "reap/alert-ids.h"
#include "reap/alert.h"
#include "watch/thin-status.h"

static const struct {
        const char *name;
        const char *id;
        int priority;
} alert_kinds[_ALERT_KIND_MAX] = {
        [ALERT_LEAK_DETECTED] = { "leak-detected", ALERT_ID_LEAK_DETECTED, LOG_WARNING },
        [ALERT_HOLDER_REAPED] = { "holder-reaped", ALERT_ID_HOLDER_REAPED, LOG_NOTICE },
        [ALERT_REAP_FAILED] = { "reap-failed", ALERT_ID_REAP_FAILED, LOG_ERR },
        [ALERT_LEAK_STUCK] = { "leak-stuck", ALERT_ID_LEAK_STUCK, LOG_ERR },
        [ALERT_DEVICE_RELEASED] = { "device-released", ALERT_ID_DEVICE_RELEASED, LOG_INFO },
        [ALERT_DEVICE_REMOVED] = { "device-removed", ALERT_ID_DEVICE_REMOVED, LOG_INFO },
        [ALERT_REMOVAL_FAILED] = { "removal-failed", ALERT_ID_REMOVAL_FAILED, LOG_ERR },
        [ALERT_POOL_FILL] = { "pool-fill", ALERT_ID_POOL_FILL, LOG_WARNING },
};

const char *alert_kind_id(AlertKind k) {
        return k >= 0 && k < _ALERT_KIND_MAX ? alert_kinds[k].id : NULL;
}

int alert_kind_priority(AlertKind k) {
        return k >= 0 && k < _ALERT_KIND_MAX ? alert_kinds[k].priority : LOG_ERR;
}

const char *alert_kind_to_string(AlertKind k) {
        return k >= 0 && k < _ALERT_KIND_MAX ? alert_kinds[k].name : NULL;
}

/* "PID 42 (sleep, unit foo.service) in mount namespace 4026532300", or the
 * namespace alone when no process is in it. Names are escaped: the message
 * is for reading; the raw bytes are in the fields. */
static char *describe_holder(const Alert *a) {
        _cleanup_free_ char *comm = cescape(strempty(a->holder_comm));
        _cleanup_free_ char *unit = cescape(strempty(a->holder_unit));
        char ns[64] = "", *s = NULL;

        if (!comm || !unit)
                return NULL;
        if (a->holder_mntns != 0)
                (void) snprintf(ns, sizeof(ns), " in mount namespace %llu", (unsigned long long) a->holder_mntns);
        if (a->holder_pid <= 0)
                return asprintf(&s, "a mount namespace with no process%s", ns) < 0 ? NULL : s;
        if (asprintf(&s, "PID %d (%s%s%s)%s", (int) a->holder_pid, *comm ? comm : "?", *unit ? ", unit " : "",
                     unit, ns) < 0)
                return NULL;
        return s;
}

/* "its cwd /srv/x", "a mount on /mnt/x", ... */
static char *describe_reference(const Alert *a) {
        _cleanup_free_ char *path = cescape(strempty(a->mountpoint));
        const char *kind = strempty(a->holder_kind);
        char more[64] = "", *s = NULL;

        if (!path)
                return NULL;
        if (a->n_more_holders > 0)
                (void) snprintf(more, sizeof(more), ", and %u more reference%s", a->n_more_holders,
                                a->n_more_holders == 1 ? "" : "s");
        if (streq(kind, "mount"))
                return asprintf(&s, "a mount on %s%s", path, more) < 0 ? NULL : s;
        if (isempty(kind))
                return asprintf(&s, "%s%s", *path ? path : "an unknown reference", more) < 0 ? NULL : s;
        return asprintf(&s, "%s %s%s", kind, path, more) < 0 ? NULL : s;
}

static const char *next_step(const char *action) {
        if (!action || streq(action, "report"))
                return "Action=report: nothing is done. Free it by ending the holder, or for a mount by "
                       "unmounting it inside the holder's namespace (nsenter -t PID -m umount -l PATH)";
        if (streq(action, "detach"))
                return "Action=detach: dmwarden unmounts the leaked mounts inside the holders' namespaces; "
                       "the processes keep running";
        if (streq(action, "restart-unit"))
                return "Action=restart-unit: dmwarden asks systemd to restart the holders' units";
        return "Action=kill: dmwarden sends the holders SIGTERM, then SIGKILL after GraceSec=";
}

/* The kernel's trace of the engine letting go, in words (alert.h's names). */
static const char *describe_let_go(const char *let_go) {
        if (streq_ptr(let_go, "deferred-remove"))
                return "it asked for its removal, deferred while the device is busy";
        if (streq_ptr(let_go, "forced-remove"))
                return "its forced removal replaced the device's table with error";
        if (streq_ptr(let_go, "settled"))
                return "it unmounted the device, and others kept its filesystem past SettleSec=";
        return "it no longer uses the device";
}

/* " It holds 1.2 GiB of pool docker-thinpool.": what the leak costs. */
static char *describe_cost(const Alert *a, const char *pool) {
        char bytes[THIN_BYTES_STRING_MAX], *s = NULL;

        if (!a->mapped_bytes_known)
                return strdup("");
        if (asprintf(&s, " It holds %s of pool %s.", thin_format_bytes(a->mapped_bytes, bytes),
                     *pool ? pool : "?") < 0)
                return NULL;
        return s;
}

static int format_message(const Alert *a, char **ret) {
        _cleanup_free_ char *name = cescape(strempty(a->dm_name)), *holder = describe_holder(a),
                            *ref = describe_reference(a), *result = cescape(strempty(a->result)),
                            *pool = cescape(strempty(a->dm_pool)), *body = NULL, *cost = NULL;
        const char *action = a->action ?: "report";
        unsigned maj = major(a->dev), min = minor(a->dev);
        int n;

        if (!name || !holder || !ref || !result || !pool)
                return -ENOMEM;
        cost = describe_cost(a, pool);
        if (!cost)
                return -ENOMEM;
        switch (a->kind) {
        case ALERT_LEAK_DETECTED:
                n = asprintf(&body, "Thin device %s (%u:%u) was let go by the engine (%s) but is still busy: %s "
                             "holds it through %s.%s %s.", name, maj, min, describe_let_go(a->let_go), holder, ref,
                             cost, next_step(a->action));
                break;
        case ALERT_HOLDER_REAPED:
                n = asprintf(&body, "Freed thin device %s (%u:%u) from %s (%s) with Action=%s: %s.", name, maj,
                             min, holder, ref, action, result);
                break;
        case ALERT_REAP_FAILED:
                n = asprintf(&body, "Could not %s %s, which holds thin device %s (%u:%u) through %s: %s. The "
                             "device stays busy; stop that process or its unit by hand, or allow a stronger "
                             "Action= if policy permits.", action, holder, name, maj, min, ref, result);
                break;
        case ALERT_LEAK_STUCK:
                n = asprintf(&body, "Thin device %s (%u:%u) is stuck: %s keeps it busy through %s, which "
                             "Action=%s cannot end.%s Stop that process or restart its unit; dmwarden removes the "
                             "device as soon as nothing holds it. Repeated while it lasts.", name, maj, min,
                             holder, ref, action, cost);
                break;
        case ALERT_DEVICE_RELEASED:
                n = asprintf(&body, "Thin device %s (%u:%u) is free: nothing holds it any more. %s.", name, maj,
                             min, *result ? result : "Nothing else to do");
                break;
        case ALERT_DEVICE_REMOVED:
                n = asprintf(&body, "Thin device %s (%u:%u) was removed (%s); the engine can now delete its "
                             "thin volume and give the space back to pool %s.", name, maj, min,
                             *result ? result : "gone", *pool ? pool : "?");
                break;
        case ALERT_REMOVAL_FAILED:
                n = asprintf(&body, "Could not remove thin device %s (%u:%u): %s. See what holds it "
                             "(dmwardenctl holders %s), then remove it with dmsetup remove --deferred %s.",
                             name, maj, min, result, name, name);
                break;
        case ALERT_POOL_FILL: {
                _cleanup_free_ char *leaked = cescape(strempty(a->leaked_devices));
                char bytes[THIN_BYTES_STRING_MAX];

                if (!leaked)
                        return -ENOMEM;
                if (*leaked)
                        n = asprintf(&body, "Thin pool %s is past %u%% full: data %u.%u%%, metadata %u.%u%%. "
                                     "Leaked devices hold %s of it: %s. Freeing them (dmwardenctl holders NAME "
                                     "says who holds each) and letting the engine delete them gives that back.",
                                     name, a->warn_percent, a->data_permille / 10, a->data_permille % 10,
                                     a->metadata_permille / 10, a->metadata_permille % 10,
                                     thin_format_bytes(a->leaked_bytes, bytes), leaked);
                else
                        n = asprintf(&body, "Thin pool %s is past %u%% full: data %u.%u%%, metadata %u.%u%%. "
                                     "No leaked device holds space in it: the engine's own devices fill it; "
                                     "grow the pool or remove unused images and containers.",
                                     name, a->warn_percent, a->data_permille / 10, a->data_permille % 10,
                                     a->metadata_permille / 10, a->metadata_permille % 10);
                break;
        }
        default:
                return -EINVAL;
        }
        if (n < 0)
                return -ENOMEM;
        if (a->n_suppressed > 0) {
                char *s;

                if (asprintf(&s, "%s (%u earlier alert%s about this device suppressed by the rate limit.)", body,
                             a->n_suppressed, a->n_suppressed == 1 ? " was" : "s were") < 0)
                        return -ENOMEM;
                free(body);
                body = s;
        }
        *ret = TAKE_PTR(body);
        return 0;
}

static int add_field(char ***l, const char *key, const char *value) {
        char *s;

        if (asprintf(&s, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

static int add_field_u64(char ***l, const char *key, unsigned long long value) {
        char buf[32];

        (void) snprintf(buf, sizeof(buf), "%llu", value);
        return add_field(l, key, buf);
}

int alert_build_fields(const Alert *a, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *message = NULL;
        char dev[32];
        int r;

        if (a->kind < 0 || a->kind >= _ALERT_KIND_MAX || isempty(a->dm_name))
                return -EINVAL;
        r = format_message(a, &message);
        if (r < 0)
                return r;
        (void) snprintf(dev, sizeof(dev), "%u:%u", major(a->dev), minor(a->dev));

        if ((r = add_field(&l, "MESSAGE_ID", alert_kind_id(a->kind))) < 0 ||
            (r = add_field_u64(&l, "PRIORITY", (unsigned) alert_kind_priority(a->kind))) < 0 ||
            (r = add_field(&l, "MESSAGE", message)) < 0 ||
            (r = add_field(&l, "SYSLOG_IDENTIFIER", "dmwardend")) < 0 ||
            (r = add_field(&l, "DM_NAME", a->dm_name)) < 0 || (r = add_field(&l, "DEVICE", dev)) < 0)
                return r;
        if (!isempty(a->dm_uuid) && (r = add_field(&l, "DM_UUID", a->dm_uuid)) < 0)
                return r;
        if (!isempty(a->dm_pool) && (r = add_field(&l, "DM_POOL", a->dm_pool)) < 0)
                return r;
        if (a->holder_pid > 0 && (r = add_field_u64(&l, "HOLDER_PID", (unsigned) a->holder_pid)) < 0)
                return r;
        if (!isempty(a->holder_comm) && (r = add_field(&l, "HOLDER_COMM", a->holder_comm)) < 0)
                return r;
        if (!isempty(a->holder_unit) && (r = add_field(&l, "HOLDER_UNIT", a->holder_unit)) < 0)
                return r;
        if (a->holder_mntns != 0 && (r = add_field_u64(&l, "HOLDER_MNTNS", a->holder_mntns)) < 0)
                return r;
        if (!isempty(a->holder_kind) && (r = add_field(&l, "HOLDER_REFERENCE", a->holder_kind)) < 0)
                return r;
        if (!isempty(a->mountpoint) && (r = add_field(&l, "MOUNTPOINT", a->mountpoint)) < 0)
                return r;
        if (!isempty(a->let_go) && (r = add_field(&l, "LET_GO", a->let_go)) < 0)
                return r;
        if (!isempty(a->action) && (r = add_field(&l, "ACTION", a->action)) < 0)
                return r;
        if (!isempty(a->result) && (r = add_field(&l, "RESULT", a->result)) < 0)
                return r;
        if (a->n_suppressed > 0 && (r = add_field_u64(&l, "ALERTS_SUPPRESSED", a->n_suppressed)) < 0)
                return r;
        if (a->mapped_bytes_known && (r = add_field_u64(&l, "DM_MAPPED_BYTES", a->mapped_bytes)) < 0)
                return r;
        if (a->kind == ALERT_POOL_FILL &&
            ((r = add_field_u64(&l, "POOL_DATA_PERMILLE", a->data_permille)) < 0 ||
             (r = add_field_u64(&l, "POOL_METADATA_PERMILLE", a->metadata_permille)) < 0 ||
             (r = add_field_u64(&l, "POOL_WARN_PERCENT", a->warn_percent)) < 0 ||
             (r = add_field_u64(&l, "LEAKED_BYTES", a->leaked_bytes)) < 0 ||
             (!isempty(a->leaked_devices) && (r = add_field(&l, "LEAKED_DEVICES", a->leaked_devices)) < 0)))
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* One log line: the message, then every other field but the ones the log
 * says anyway, escaped, so a test or an operator can grep them. */
static int log_fields(int priority, char **fields) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&line, &size);

        if (!f)
                return -ENOMEM;
        for (char **p = fields; *p; p++) {
                if (strncmp(*p, "MESSAGE=", 8) == 0)
                        fputs(*p + 8, f);
        }
        for (char **p = fields; *p; p++) {
                _cleanup_free_ char *e = NULL;

                if (strncmp(*p, "MESSAGE=", 8) == 0 || strncmp(*p, "PRIORITY=", 9) == 0 ||
                    strncmp(*p, "SYSLOG_IDENTIFIER=", 18) == 0)
                        continue;
                e = cescape(*p);
                if (!e)
                        break;
                fprintf(f, " %s", e);
        }
        if (fclose(f) != 0 || !line)
                return -ENOMEM;
        log_full(priority, "%s", line);
        return 0;
}

int alert_send(const Alert *a) {
        _cleanup_strv_free_ char **fields = NULL;
        _cleanup_free_ struct iovec *iov = NULL;
        size_t n;
        int r;

        r = alert_build_fields(a, &fields);
        if (r < 0)
                return log_error_errno(r, "Cannot build the %s alert for %s: %m", alert_kind_to_string(a->kind),
                                       strna(a->dm_name));
        if (!log_target_is_journal())
                return log_fields(alert_kind_priority(a->kind), fields);

        n = strv_length(fields);
        iov = calloc(n, sizeof(struct iovec));
        if (!iov)
                return log_oom();
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        r = sd_journal_sendv(iov, (int) n);
        if (r < 0)
                return log_fields(alert_kind_priority(a->kind), fields);
        return 0;
}
