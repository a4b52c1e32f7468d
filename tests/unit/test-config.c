/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/strv.h"
#include "config/config.h"
#include "test-util.h"

/* Loads a fixture from tests/data/config; on success *ret holds the config,
 * on failure *ret_errors the messages. */
static int load_fixture(const char *name, Config **ret, char ***ret_errors) {
        char path[PATH_MAX];

        test_data_path(path, sizeof(path), "config", name);
        *ret = NULL;
        *ret_errors = NULL;
        return config_load(path, 0, ret, ret_errors);
}

/* Asserts that name is rejected with exactly one message that starts with
 * "<path>:<line>: " and contains each of the given fragments. */
static void expect_rejected(const char *name, unsigned line, const char *const *fragments) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char path[PATH_MAX], prefix[PATH_MAX + 32];
        int r;

        r = load_fixture(name, &c, &errors);
        cr_assert_eq(r, -EINVAL, "%s: expected -EINVAL, got %d", name, r);
        cr_assert_null(c, "%s: no configuration may come back from a rejected load", name);
        cr_assert_eq(strv_length(errors), 1, "%s: expected one message, got %zu (first: %s)", name,
                     strv_length(errors), errors && errors[0] ? errors[0] : "none");

        test_data_path(path, sizeof(path), "config", name);
        snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
        cr_assert(strncmp(errors[0], prefix, strlen(prefix)) == 0, "%s: message \"%s\" does not start with \"%s\"",
                  name, errors[0], prefix);
        for (const char *const *f = fragments; *f; f++)
                cr_assert(strstr(errors[0], *f), "%s: message \"%s\" lacks \"%s\"", name, errors[0], *f);
}

#define EXPECT_REJECTED(name, line, ...) \
        expect_rejected((name), (line), (const char *const[]) { __VA_ARGS__, NULL })

Test(config, defaults_need_no_file) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = config_load("/nonexistent/dmwarden.conf", 0, &c, &errors);
        cr_assert_eq(r, 0);
        cr_assert_null(c->exec_start, "watch-only mode by default");
        cr_assert_eq(c->propagation, PROPAGATION_SLAVE);
        cr_assert_eq(c->restart, RESTART_ON_FAILURE);
        cr_assert_eq(c->reconcile_usec, 5 * USEC_PER_MINUTE);
        cr_assert_eq(c->udev_receive_buffer, 8 * 1024 * 1024);
        cr_assert_eq(c->action, REAP_DETACH);
        cr_assert_eq(c->remove, REMOVE_DEFERRED);
        cr_assert_eq(c->process_walk, HOLDER_WALK_AUTO, "the BPF walk where it loads, else /proc");
        cr_assert_eq(strv_length(c->targets), 1);
        cr_assert_str_eq(c->targets[0], "thin");
        cr_assert(strv_contains(c->protect_units, "dbus.service"));
}

Test(config, every_key_parsed) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = load_fixture("full.conf", &c, &errors);
        cr_assert_eq(r, 0, "full.conf rejected: %s", errors && errors[0] ? errors[0] : "?");
        cr_assert_eq(strv_length(c->exec_start), 5);
        cr_assert_str_eq(c->exec_start[0], "/usr/sbin/dockerd");
        cr_assert_str_eq(c->exec_start[4], "unix:///run/docker one.sock");
        cr_assert_eq(c->propagation, PROPAGATION_PRIVATE);
        cr_assert_str_eq(c->pid_file, "/run/docker.pid");
        cr_assert_eq(c->restart, RESTART_ALWAYS);
        cr_assert_eq(c->restart_usec, 500 * USEC_PER_MSEC);
        cr_assert_eq(c->stop_timeout_usec, 90 * USEC_PER_SEC);
        cr_assert_eq(c->start_limit_interval_usec, USEC_PER_HOUR);
        cr_assert_eq(c->start_limit_burst, 7);
        cr_assert_eq(strv_length(c->targets), 2, "the first Target= replaces the default");
        cr_assert_str_eq(c->targets[1], "thin-pool");
        cr_assert_str_eq(c->names[1], "name with space");
        cr_assert_str_eq(c->uuid_prefixes[0], "LVM-");
        cr_assert_str_eq(c->pools[0], "docker-*-pool");
        cr_assert_eq(c->reconcile_usec, 30 * USEC_PER_SEC);
        cr_assert_eq(c->process_walk, HOLDER_WALK_PROC);
        cr_assert_eq(c->udev_receive_buffer, 512 * 1024);
        cr_assert_eq(c->action, REAP_KILL);
        cr_assert_eq(c->grace_usec, 3 * USEC_PER_SEC);
        cr_assert_eq(strv_length(c->protect_units), 1, "an empty assignment clears the default list");
        cr_assert_str_eq(c->protect_units[0], "sshd.service");
        cr_assert_eq(strv_length(c->protect_comms), 2);
        cr_assert_eq(c->remove, REMOVE_IMMEDIATE);
}

Test(config, settle_sec_takes_infinity) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = config_load("/nonexistent/dmwarden.conf", 0, &c, &errors);
        cr_assert_eq(r, 0);
        cr_assert_eq(c->settle_usec, 5 * USEC_PER_SEC, "SettleSec= is 5s by default");
        c = config_free(c);

        r = load_fixture("settle-infinity.conf", &c, &errors);
        cr_assert_eq(r, 0, "SettleSec=infinity rejected: %s", errors && errors[0] ? errors[0] : "?");
        cr_assert_eq(c->settle_usec, USEC_INFINITY);
}

Test(config, dropins_apply_in_byte_order_after_main_file) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = load_fixture("dropins/dmwarden.conf", &c, &errors);
        cr_assert_eq(r, 0, "rejected: %s", errors && errors[0] ? errors[0] : "?");
        cr_assert_eq(c->action, REAP_KILL, "20-later.conf wins over 10-earlier.conf and the main file");
        cr_assert_eq(c->grace_usec, 2 * USEC_PER_SEC, "10-earlier.conf wins over the main file");
        cr_assert_eq(strv_length(c->protect_comms), 3);
        cr_assert_str_eq(c->protect_comms[0], "one");
        cr_assert_str_eq(c->protect_comms[1], "two");
        cr_assert_str_eq(c->protect_comms[2], "three");
        cr_assert_eq(strv_length(c->targets), 1, "Target= reset and set again by 30-reset.conf");
        cr_assert_null(c->names);
}

Test(config, indented_keys_are_keys_not_continuations) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        cr_assert_eq(load_fixture("indented.conf", &c, &errors), 0);
        cr_assert_eq(c->propagation, PROPAGATION_PRIVATE);
        cr_assert_eq(c->restart, RESTART_NO);
}

Test(config, repeated_section_merges_and_later_key_wins) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        cr_assert_eq(load_fixture("duplicate-section.conf", &c, &errors), 0);
        cr_assert_eq(c->action, REAP_REPORT);
        cr_assert_eq(c->grace_usec, 4 * USEC_PER_SEC);
        cr_assert_eq(c->reconcile_usec, USEC_PER_MINUTE);
}

Test(config, rejects_socket_readiness_without_socket) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        cr_assert_eq(load_fixture("socket-without-path.conf", &c, &errors), -EINVAL);
        cr_assert_eq(strv_length(errors), 1);
        cr_assert(strstr(errors[0], "socket-without-path.conf: [Engine] Type=socket needs ReadySocket="),
                  "%s", errors[0]);
}

Test(config, rejects_unknown_key) {
        EXPECT_REJECTED("unknown-key.conf", 3, "[Engine]", "Propagaton=", "unknown key");
}

Test(config, rejects_unknown_section) {
        EXPECT_REJECTED("unknown-section.conf", 4, "unknown section [Enigne]");
}

Test(config, rejects_bad_enum_value) {
        EXPECT_REJECTED("bad-enum.conf", 2, "[Policy]", "Action=nuke", "report, detach, restart-unit, kill");
}

Test(config, rejects_a_walk_that_is_none_of_the_three) {
        EXPECT_REJECTED("bad-walk.conf", 2, "[Watch]", "ProcessWalk=ebpf", "auto, proc, bpf");
}

Test(config, rejects_bad_number) {
        EXPECT_REJECTED("bad-number.conf", 2, "[Engine]", "StartLimitBurst=five", "not a number");
}

Test(config, rejects_a_size_out_of_range_or_with_a_bad_suffix) {
        EXPECT_REJECTED("bad-size-small.conf", 2, "[Watch]", "UdevReceiveBuffer=4K", "out of range",
                        "16384 to 1073741824 bytes");
        EXPECT_REJECTED("bad-size-suffix.conf", 2, "[Watch]", "UdevReceiveBuffer=8MB", "not a size");
}

Test(config, rejects_bad_duration) {
        EXPECT_REJECTED("bad-duration.conf", 2, "[Engine]", "RestartSec=5x", "not a duration");
}

Test(config, rejects_relative_command) {
        EXPECT_REJECTED("relative-command.conf", 2, "ExecStart=", "absolute path", "\"dockerd\"");
}

Test(config, rejects_unbalanced_quote) {
        EXPECT_REJECTED("unbalanced-quote.conf", 2, "ExecStart=", "unbalanced quotes");
}

Test(config, rejects_value_libinih_would_cut_at_semicolon) {
        EXPECT_REJECTED("inline-comment.conf", 2, "';' after a blank");
}

Test(config, rejects_line_without_equals) {
        EXPECT_REJECTED("no-equals.conf", 2, "expected \"[Section]\" or \"Key=value\"", "Restart");
}

Test(config, rejects_key_outside_section) {
        EXPECT_REJECTED("key-before-section.conf", 1, "Restart= outside of any section");
}

Test(config, rejects_line_longer_than_parser_buffer) {
        EXPECT_REJECTED("long-line.conf", 2, "bytes long", "longer than the 199 bytes");
}

Test(config, rejects_non_utf8) {
        EXPECT_REJECTED("non-utf8.conf", 2, "invalid UTF-8", "0xff", "column 13");
}

Test(config, rejects_comm_that_can_never_match) {
        EXPECT_REJECTED("long-comm.conf", 2, "ProtectComms=", "longer than 15 bytes");
}

Test(config, reports_every_problem_not_just_the_first) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        cr_assert_eq(load_fixture("many-errors.conf", &c, &errors), -EINVAL);
        cr_assert_eq(strv_length(errors), 3);
        cr_assert(strstr(errors[0], ":2: [Engine] Propagation=shared"));
        cr_assert(strstr(errors[1], ":3: [Engine] RestartSec=soon"));
        cr_assert(strstr(errors[2], ":6: [Policy] Remove=maybe"));
}

/* Drop-in directories that git cannot hold are made in a temporary dir. */
static void make_dropin_world(char *dir, size_t size, const char *bad_name, bool as_symlink) {
        char path[PATH_MAX];

        test_make_tmpdir(dir, size);
        snprintf(path, sizeof(path), "%s/dmwarden.conf.d", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/dmwarden.conf.d/%s", dir, bad_name);
        if (as_symlink)
                cr_assert_eq(symlink("/nonexistent/target.conf", path), 0);
        else
                cr_assert_eq(mkdir(path, 0755), 0);
}

static void expect_dropin_rejected(const char *bad_name, bool as_symlink, const char *why) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char dir[PATH_MAX], main_path[PATH_MAX], expected[PATH_MAX + 64];

        make_dropin_world(dir, sizeof(dir), bad_name, as_symlink);
        snprintf(main_path, sizeof(main_path), "%s/dmwarden.conf", dir);
        cr_assert_eq(config_load(main_path, 0, &c, &errors), -EINVAL);
        cr_assert_eq(strv_length(errors), 1);
        snprintf(expected, sizeof(expected), "%s/dmwarden.conf.d/%s: cannot read: %s", dir, bad_name, why);
        cr_assert_str_eq(errors[0], expected);
        test_remove_tree(dir);
}

Test(config, rejects_dropin_that_is_a_directory) {
        expect_dropin_rejected("50-dir.conf", false, "Is a directory");
}

Test(config, rejects_dangling_dropin_symlink) {
        expect_dropin_rejected("50-dangling.conf", true, "dangling symbolic link");
}

/* The main file may be missing unless it was named (-c): then it is a
 * typo to report, whatever drop-ins sit beside it. */
static void make_missing_main_world(char *dir, size_t size, char *main_path, size_t main_size) {
        char path[PATH_MAX];

        test_make_tmpdir(dir, size);
        snprintf(path, sizeof(path), "%s/dmwarden.conf.d", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/dmwarden.conf.d/50-report.conf", dir);
        test_write_file(path, "[Policy]\nAction=report\n");
        snprintf(main_path, main_size, "%s/dmwarden.conf", dir);
}

Test(config, missing_default_file_still_reads_dropins) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char dir[PATH_MAX], main_path[PATH_MAX];

        make_missing_main_world(dir, sizeof(dir), main_path, sizeof(main_path));
        cr_assert_eq(config_load(main_path, 0, &c, &errors), 0);
        cr_assert_eq(c->action, REAP_REPORT, "the drop-in applies without a main file");
        test_remove_tree(dir);
}

Test(config, missing_required_file_is_refused_by_name) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char dir[PATH_MAX], main_path[PATH_MAX], expected[PATH_MAX + 64];

        make_missing_main_world(dir, sizeof(dir), main_path, sizeof(main_path));
        cr_assert_eq(config_load(main_path, CONFIG_LOAD_REQUIRED, &c, &errors), -EINVAL);
        cr_assert_null(c);
        cr_assert_eq(strv_length(errors), 1);
        snprintf(expected, sizeof(expected), "%s: cannot read: No such file or directory", main_path);
        cr_assert_str_eq(errors[0], expected);
        test_remove_tree(dir);
}

Test(config, required_file_that_exists_loads) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char dir[PATH_MAX], main_path[PATH_MAX];

        make_missing_main_world(dir, sizeof(dir), main_path, sizeof(main_path));
        test_write_file(main_path, "[Policy]\nAction=kill\n");
        cr_assert_eq(config_load(main_path, CONFIG_LOAD_REQUIRED, &c, &errors), 0);
        cr_assert_eq(c->action, REAP_REPORT, "the drop-in still wins over the main file");
        test_remove_tree(dir);
}

Test(config, rejects_dropin_directory_that_is_a_file) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char dir[PATH_MAX], path[PATH_MAX], expected[PATH_MAX + 64];

        test_make_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/dmwarden.conf.d", dir);
        test_write_file(path, "[Policy]\nAction=kill\n");
        snprintf(path, sizeof(path), "%s/dmwarden.conf", dir);
        cr_assert_eq(config_load(path, 0, &c, &errors), -EINVAL);
        cr_assert_eq(strv_length(errors), 1);
        snprintf(expected, sizeof(expected), "%s/dmwarden.conf.d: cannot list drop-ins: Not a directory", dir);
        cr_assert_str_eq(errors[0], expected);
        test_remove_tree(dir);
}

Test(config, dump_round_trips_every_key) {
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *first = NULL, *second = NULL;
        char dir[PATH_MAX], path[PATH_MAX];
        size_t n1 = 0, n2 = 0;
        FILE *f;

        cr_assert_eq(load_fixture("full.conf", &c, &errors), 0);
        f = open_memstream(&first, &n1);
        cr_assert_eq(config_dump_all(c, f), 0);
        fclose(f);

        /* Every key appears, in the file's syntax. */
        cr_assert(strstr(first, "[Engine]\nExecStart=/usr/sbin/dockerd --storage-driver devicemapper -H "
                                "\"unix:///run/docker one.sock\"\n"));
        cr_assert(strstr(first, "\nStopTimeoutSec=1min 30s\n"));
        cr_assert(strstr(first, "\nRestartSec=500ms\n"));
        cr_assert(strstr(first, "\nName=docker-* \"name with space\"\n"));
        cr_assert(strstr(first, "[Policy]\nAction=kill\n"));

        /* Reading the dump back gives the same configuration. */
        test_make_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/dmwarden.conf", dir);
        test_write_file(path, first);
        cr_assert_eq(config_load(path, 0, &again, &errors), 0, "dump not accepted: %s",
                     errors && errors[0] ? errors[0] : "?");
        f = open_memstream(&second, &n2);
        cr_assert_eq(config_dump_all(again, f), 0);
        fclose(f);
        cr_assert_str_eq(first, second);
        test_remove_tree(dir);
}

Test(config, dump_of_defaults_lists_every_key) {
        static const char *const keys[] = {
                "ExecStart=\n", "Type=notify\n", "ReadySocket=\n", "TimeoutStartSec=5min\n",
                "Propagation=slave\n", "PIDFile=\n", "Restart=on-failure\n",
                "RestartSec=2s\n", "StopTimeoutSec=1min 30s\n", "StartLimitIntervalSec=10min\n",
                "StartLimitBurst=5\n", "Target=thin\n", "Name=\n", "UUIDPrefix=\n", "Pool=\n",
                "ReconcileSec=5min\n", "SettleSec=5s\n", "ProcessWalk=auto\n", "UdevReceiveBuffer=8M\n", "Action=detach\n", "GraceSec=10s\n", "ProtectUnits=dbus.service ",
                "ProtectComms=\n", "Remove=deferred\n",
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        FILE *f;

        cr_assert_eq(config_new(&c), 0);
        f = open_memstream(&text, &n);
        cr_assert_eq(config_dump_all(c, f), 0);
        fclose(f);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                cr_assert(strstr(text, keys[i]), "dump lacks \"%s\":\n%s", keys[i], text);
}

/* The shipped sample shows every key with its default: uncommented, it must
 * load to exactly the compiled-in defaults, and it must miss no key. */
Test(config, shipped_sample_shows_every_default) {
        _cleanup_(config_freep) Config *defaults = NULL, *sample = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *expected = NULL, *actual = NULL, *uncommented = NULL;
        char dir[PATH_MAX], path[PATH_MAX], line[1024];
        size_t n1 = 0, n2 = 0, n3 = 0;
        FILE *in, *out;

        snprintf(path, sizeof(path), "%s/conf/dmwarden.conf", getenv("DMWARDEN_SOURCE_ROOT"));
        in = fopen(path, "re");
        cr_assert_not_null(in, "cannot open %s", path);
        out = open_memstream(&uncommented, &n3);
        while (fgets(line, sizeof(line), in)) {
                bool key_line = line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' && strchr(line, '=');

                fputs(key_line ? line + 1 : line, out);
        }
        fclose(in);
        fclose(out);

        test_make_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/dmwarden.conf", dir);
        test_write_file(path, uncommented);
        cr_assert_eq(config_load(path, 0, &sample, &errors), 0, "uncommented sample rejected: %s",
                     errors && errors[0] ? errors[0] : "?");
        cr_assert_eq(config_new(&defaults), 0);

        out = open_memstream(&expected, &n1);
        cr_assert_eq(config_dump_all(defaults, out), 0);
        fclose(out);
        out = open_memstream(&actual, &n2);
        cr_assert_eq(config_dump_all(sample, out), 0);
        fclose(out);
        cr_assert_str_eq(actual, expected);

        /* Every key the daemon knows is set by the sample, not left to chance:
         * the sample's "Key=" lines must match the dump's line for line. */
        for (char *l = expected; l && *l;) {
                char *end = strchr(l, '\n');
                size_t len = end ? (size_t) (end - l) : strlen(l);

                if (len > 0 && l[0] != '[') {
                        char want[1024];

                        snprintf(want, sizeof(want), "\n%.*s\n", (int) len, l);
                        cr_assert(strstr(uncommented, want), "sample lacks \"%.*s\"", (int) len, l);
                }
                l = end ? end + 1 : NULL;
        }
        test_remove_tree(dir);
}

/* Found by fuzz-config: a last line of blanks without a newline made the
 * parser read one byte past the text (ASan sees it in the sanitizer run). */
Test(config, buffer_ending_in_blanks_is_read_within_bounds) {
        static const char text[] = "[Policy]\nAction=kill\n   ";
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *exact = malloc(sizeof(text) - 1);
        int r;

        cr_assert_not_null(exact);
        memcpy(exact, text, sizeof(text) - 1); /* no NUL after the blanks */
        r = config_load_buffer("buffer.conf", exact, sizeof(text) - 1, &c, &errors);
        cr_assert_eq(r, 0, "%s", errors && errors[0] ? errors[0] : "");
        cr_assert_eq(c->action, REAP_KILL);
}

/* Dumps c (--dump-config) and reads the dump back, which must be accepted. */
static Config *dump_and_read_back(const Config *c) {
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *dump = NULL;
        Config *again = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&dump, &size);
        cr_assert_not_null(f);
        cr_assert_eq(config_dump_all(c, f), 0);
        fclose(f);
        r = config_load_buffer("dump.conf", dump, size, &again, &errors);
        cr_assert_eq(r, 0, "dump refused: %s\n%s", errors && errors[0] ? errors[0] : "", dump);
        return again;
}

/* Found by fuzz-config: a list built over several lines was dumped on one
 * line longer than the parser takes, so --dump-config could not be read
 * back. Now it is wrapped over several assignments. */
Test(config, dump_of_long_list_reads_back) {
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        cr_assert_geq(asprintf(&text, "[Watch]\nName=%0150d\nName=%0150d\nName='%s'\n", 1, 2,
                               "\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"), 0);
        r = config_load_buffer("long.conf", text, strlen(text), &c, &errors);
        cr_assert_eq(r, 0, "%s", errors && errors[0] ? errors[0] : "");
        cr_assert_eq(strv_length(c->names), 3);

        again = dump_and_read_back(c);
        cr_assert_eq(strv_length(again->names), 3);
        for (size_t i = 0; i < 3; i++)
                cr_assert_str_eq(again->names[i], c->names[i]);
}

/* Found by fuzz-config: libinih starts a comment at a ';' after any space
 * byte, a carriage return too. A name holding "\r;" was accepted and dumped
 * with that pair bare, so the dump read back cut short and was refused. */
Test(config, dump_of_semicolon_after_carriage_return_reads_back) {
        static const char text[] = "[Watch]\nName='a\r\r';b\n";
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = config_load_buffer("cr.conf", text, sizeof(text) - 1, &c, &errors);
        cr_assert_eq(r, 0, "%s", errors && errors[0] ? errors[0] : "");
        cr_assert_str_eq(c->names[0], "a\r\r;b");

        again = dump_and_read_back(c);
        cr_assert_str_eq(again->names[0], "a\r\r;b");
}

Test(config, rejects_semicolon_after_any_space_byte) {
        static const char *const spaces[] = { "\r", "\f", "\v" };

        for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_strv_free_ char **errors = NULL;
                _cleanup_free_ char *text = NULL;

                cr_assert_geq(asprintf(&text, "[Watch]\nName=a%s;b\n", spaces[i]), 0);
                cr_assert_eq(config_load_buffer("space.conf", text, strlen(text), &c, &errors), -EINVAL,
                             "';' after byte 0x%02x accepted", (unsigned char) spaces[i][0]);
                cr_assert_not_null(strstr(errors[0], "space.conf:2:"), "%s", errors[0]);
                cr_assert_not_null(strstr(errors[0], "would start a comment"), "%s", errors[0]);
        }
}
