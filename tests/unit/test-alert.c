/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <syslog.h>

#include "basic/strv.h"
#include "reap/alert-ids.h"
#include "reap/alert.h"

/* The value of key in fields, or NULL. */
static const char *field(char **fields, const char *key) {
        size_t n = strlen(key);

        for (char **f = fields; f && *f; f++)
                if (strncmp(*f, key, n) == 0 && (*f)[n] == '=')
                        return *f + n + 1;
        return NULL;
}

static const Alert leak = {
        .kind = ALERT_LEAK_DETECTED,
        .dm_name = "docker-253:0-1234-abcdef",
        .dm_uuid = "LVM-xyz",
        .dm_pool = "docker-pool",
        .dev = 0, /* set in the test: makedev is not constant */
        .holder_pid = 4242,
        .holder_comm = "backup-agent",
        .holder_unit = "backup.service",
        .holder_mntns = 4026532301ULL,
        .holder_kind = "mount",
        .mountpoint = "/var/lib/docker/devicemapper/mnt/abcdef",
        .action = "detach",
        .n_more_holders = 2,
};

Test(alert, leak_detected_has_every_field) {
        _cleanup_strv_free_ char **f = NULL;
        Alert a = leak;

        a.dev = makedev(253, 7);
        cr_assert_eq(alert_build_fields(&a, &f), 0);
        cr_assert_str_eq(field(f, "MESSAGE_ID"), ALERT_ID_LEAK_DETECTED);
        cr_assert_str_eq(field(f, "PRIORITY"), "4");
        cr_assert_str_eq(field(f, "DM_NAME"), "docker-253:0-1234-abcdef");
        cr_assert_str_eq(field(f, "DM_UUID"), "LVM-xyz");
        cr_assert_str_eq(field(f, "DM_POOL"), "docker-pool");
        cr_assert_str_eq(field(f, "DEVICE"), "253:7");
        cr_assert_str_eq(field(f, "HOLDER_PID"), "4242");
        cr_assert_str_eq(field(f, "HOLDER_COMM"), "backup-agent");
        cr_assert_str_eq(field(f, "HOLDER_UNIT"), "backup.service");
        cr_assert_str_eq(field(f, "HOLDER_MNTNS"), "4026532301");
        cr_assert_str_eq(field(f, "MOUNTPOINT"), "/var/lib/docker/devicemapper/mnt/abcdef");
        cr_assert_str_eq(field(f, "ACTION"), "detach");
        cr_assert_null(field(f, "RESULT"), "no result before anything was done");
        cr_assert_str_eq(strv_length(f) > 0 ? f[0] : "", "MESSAGE_ID=" ALERT_ID_LEAK_DETECTED);
}

Test(alert, message_alone_says_what_and_what_next) {
        _cleanup_strv_free_ char **f = NULL;
        Alert a = leak;
        const char *m;

        a.dev = makedev(253, 7);
        cr_assert_eq(alert_build_fields(&a, &f), 0);
        m = field(f, "MESSAGE");
        cr_assert_not_null(m);
        cr_assert_not_null(strstr(m, "docker-253:0-1234-abcdef (253:7)"), "%s", m);
        cr_assert_not_null(strstr(m, "PID 4242 (backup-agent, unit backup.service)"), "%s", m);
        cr_assert_not_null(strstr(m, "mount namespace 4026532301"), "%s", m);
        cr_assert_not_null(strstr(m, "a mount on /var/lib/docker/devicemapper/mnt/abcdef, and 2 more references"),
                           "%s", m);
        cr_assert_not_null(strstr(m, "Action=detach"), "%s", m);
}

Test(alert, stuck_names_the_pinned_path_and_the_remedy) {
        _cleanup_strv_free_ char **f = NULL;
        Alert a = {
                .kind = ALERT_LEAK_STUCK, .dm_name = "thin1", .dev = makedev(7, 3), .holder_pid = 99,
                .holder_comm = "sh", .holder_kind = "cwd", .mountpoint = "/srv/held", .action = "detach",
        };
        const char *m;

        cr_assert_eq(alert_build_fields(&a, &f), 0);
        cr_assert_str_eq(field(f, "PRIORITY"), "3");
        m = field(f, "MESSAGE");
        cr_assert_not_null(strstr(m, "stuck"), "%s", m);
        cr_assert_not_null(strstr(m, "cwd /srv/held"), "%s", m);
        cr_assert_not_null(strstr(m, "Stop that process"), "%s", m);
        cr_assert_null(field(f, "HOLDER_UNIT"), "empty fields are left out");
        cr_assert_null(field(f, "DM_UUID"));
        cr_assert_null(field(f, "DM_POOL"));
}

Test(alert, refused_is_an_error_with_the_reason) {
        _cleanup_strv_free_ char **f = NULL;
        Alert a = {
                .kind = ALERT_REAP_FAILED, .dm_name = "thin1", .dev = makedev(7, 3), .holder_pid = 99,
                .holder_comm = "sleep", .holder_kind = "cwd", .mountpoint = "/srv/held", .action = "kill",
                .result = "refused (protected comm sleep)",
        };

        cr_assert_eq(alert_build_fields(&a, &f), 0);
        cr_assert_str_eq(field(f, "MESSAGE_ID"), ALERT_ID_REAP_FAILED);
        cr_assert_str_eq(field(f, "PRIORITY"), "3");
        cr_assert_str_eq(field(f, "RESULT"), "refused (protected comm sleep)");
        cr_assert_not_null(strstr(field(f, "MESSAGE"), "Could not kill PID 99 (sleep)"), "%s", field(f, "MESSAGE"));
}

Test(alert, process_less_namespace_and_hostile_names) {
        _cleanup_strv_free_ char **f = NULL;
        Alert a = {
                .kind = ALERT_LEAK_DETECTED, .dm_name = "evil\nname", .dev = makedev(7, 3), .holder_mntns = 5,
                .holder_kind = "mount", .mountpoint = "/run/ns pin",
        };
        const char *m;

        cr_assert_eq(alert_build_fields(&a, &f), 0);
        m = field(f, "MESSAGE");
        cr_assert_null(strchr(m, '\n'), "the message is one line: %s", m);
        cr_assert_not_null(strstr(m, "evil\\nname"), "%s", m);
        cr_assert_not_null(strstr(m, "a mount namespace with no process in mount namespace 5"), "%s", m);
        cr_assert_str_eq(field(f, "DM_NAME"), "evil\nname", "fields keep the raw bytes");
        cr_assert_null(field(f, "HOLDER_PID"));
}

Test(alert, every_kind_builds_and_suppressed_is_told) {
        for (AlertKind k = 0; k < _ALERT_KIND_MAX; k++) {
                _cleanup_strv_free_ char **f = NULL;
                Alert a = { .kind = k, .dm_name = "thin1", .dev = makedev(7, 3), .n_suppressed = 3 };

                cr_assert_eq(alert_build_fields(&a, &f), 0, "kind %s", alert_kind_to_string(k));
                cr_assert_str_eq(field(f, "MESSAGE_ID"), alert_kind_id(k));
                cr_assert_str_eq(field(f, "ALERTS_SUPPRESSED"), "3");
                cr_assert_not_null(strstr(field(f, "MESSAGE"), "3 earlier alerts"));
        }
}

Test(alert, rejects_nonsense) {
        char **f = NULL;

        cr_assert_eq(alert_build_fields(&(Alert) { .kind = _ALERT_KIND_MAX, .dm_name = "x" }, &f), -EINVAL);
        cr_assert_eq(alert_build_fields(&(Alert) { .kind = ALERT_DEVICE_REMOVED }, &f), -EINVAL);
        cr_assert_null(f);
}

Test(alert, leak_says_what_it_costs) {
        _cleanup_strv_free_ char **f = NULL, **unknown = NULL;
        Alert a = leak;

        a.dev = makedev(253, 7);
        a.mapped_bytes = 1288490189;
        a.mapped_bytes_known = true;
        cr_assert_eq(alert_build_fields(&a, &f), 0);
        cr_assert_str_eq(field(f, "DM_MAPPED_BYTES"), "1288490189");
        cr_assert_not_null(strstr(field(f, "MESSAGE"), "It holds 1.2 GiB of pool docker-pool."), "%s",
                           field(f, "MESSAGE"));

        a.mapped_bytes_known = false;
        cr_assert_eq(alert_build_fields(&a, &unknown), 0);
        cr_assert_null(field(unknown, "DM_MAPPED_BYTES"), "no field when the status did not say");
        cr_assert_null(strstr(field(unknown, "MESSAGE"), "It holds"));
}
