/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "dmwardend/metrics-file.h"
#include "dmwardend/metrics.h"

static MetricsPool pools[] = {
        { .name = "docker-253:0-1-pool",
          .space = { .data_used_bytes = 5, .data_total_bytes = 10, .metadata_used_bytes = 1, .metadata_total_bytes = 2 },
          .leaked_bytes = 3 },
        { .name = "evil\"pool\\with\nbytes", .space = { .data_total_bytes = 1 } },
};

static char *formatted(void) {
        MetricsSnapshot s = {
                .version = "1.2.3",
                .walk = "bpf",
                .leaked_bytes = 3,
                .oldest_leak_usec = 1700000000123456ULL,
                .pools = pools,
                .n_pools = ELEMENTSOF(pools),
                .engine_managed = true,
                .engine_up = true,
                .engine_restarts = 2,
                .last_scan_duration_usec = 1500,
                .scans = 7,
        };
        char *text = NULL;

        s.devices[DEVICE_STUCK] = 1;
        s.devices[DEVICE_ACTIVE] = 4;
        s.counters.leaks_detected = 9;
        s.counters.reaped[REAP_DETACH] = 8;
        s.counters.reap_failed[REAP_KILL] = 1;
        cr_assert_eq(metrics_format(&s, &text), 0);
        return text;
}

Test(metrics, names_units_and_labels) {
        _cleanup_free_ char *t = formatted();

        cr_assert(strstr(t, "# TYPE dmwarden_leaks_detected_total counter\ndmwarden_leaks_detected_total 9\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_devices{state=\"stuck\"} 1\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_devices{state=\"active\"} 4\n"), "%s", t);
        cr_assert(!strstr(t, "state=\"removed\""), "removed devices are not watched any more");
        cr_assert(strstr(t, "dmwarden_holders_reaped_total{action=\"detach\",result=\"ok\"} 8\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_holders_reaped_total{action=\"kill\",result=\"failed\"} 1\n"), "%s", t);
        cr_assert(!strstr(t, "action=\"report\""), "report acts on no holder");
        cr_assert(strstr(t, "dmwarden_pool_data_used_bytes{pool=\"docker-253:0-1-pool\"} 5\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_pool_metadata_size_bytes{pool=\"docker-253:0-1-pool\"} 2\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_pool_leaked_bytes{pool=\"docker-253:0-1-pool\"} 3\n"), "%s", t);
        cr_assert(strstr(t, "{pool=\"evil\\\"pool\\\\with\\nbytes\"}"), "label values escaped: %s", t);
        cr_assert(strstr(t, "dmwarden_oldest_leak_start_time_seconds 1700000000.123456\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_scan_duration_seconds 0.001500\n"), "seconds, not µs: %s", t);
        cr_assert(strstr(t, "dmwarden_engine_restarts_total 2\n"), "%s", t);
        cr_assert(strstr(t, "dmwarden_build_info{version=\"1.2.3\",walk=\"bpf\"} 1\n"), "%s", t);
}

/* promtool (Debian: prometheus) lints the very bytes the writer puts in
 * dmwarden.prom. */
Test(metrics, the_written_file_passes_promtool) {
        _cleanup_free_ char *t = formatted();
        char dir[] = "/tmp/dmwarden-metrics-XXXXXX", cmd[256], path[128];

        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(metrics_file_write(dir, t, strlen(t)), 0);
        snprintf(path, sizeof(path), "%s/" METRICS_FILE_NAME, dir);
        cr_assert_eq(access(path, R_OK), 0);
        if (system("command -v promtool >/dev/null") != 0)
                cr_log_warn("promtool is not installed (Debian: prometheus); not linting the file.");
        else {
                snprintf(cmd, sizeof(cmd), "promtool check metrics < %s >&2", path);
                cr_assert_eq(system(cmd), 0, "promtool check metrics failed on:\n%s", t);
        }
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
}

Test(metrics, a_planted_temporary_name_is_never_followed) {
        char dir[] = "/tmp/dmwarden-metrics-XXXXXX", path[128], link[128], cmd[160];

        cr_assert_not_null(mkdtemp(dir));
        /* Whatever is called dmwarden.prom is replaced, never written through. */
        snprintf(path, sizeof(path), "%s/" METRICS_FILE_NAME, dir);
        snprintf(link, sizeof(link), "%s/target", dir);
        cr_assert_eq(symlink(link, path), 0);
        cr_assert_eq(metrics_file_write(dir, "x 1\n", 4), 0);
        cr_assert_neq(access(link, F_OK), 0, "the write followed the symlink");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
}
