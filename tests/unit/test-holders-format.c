/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/escape.h"
#include "basic/macro.h"
#include "holders/holders-format.h"

static char *json_of(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        cr_assert_not_null(f);
        json_write_string(f, s);
        fclose(f);
        return buf;
}

static void expect_json(const char *in, const char *out) {
        _cleanup_free_ char *j = json_of(in);

        cr_assert_str_eq(j, out);
}

static void expect_cescape(const char *in, const char *out) {
        _cleanup_free_ char *e = cescape(in);

        cr_assert_str_eq(e, out);
}

Test(escape, json_strings) {
        expect_json("plain", "\"plain\"");
        expect_json("q\"b\\s/", "\"q\\\"b\\\\s/\"");
        expect_json("nl\ntab\tcr\rbell\a\x7f", "\"nl\\ntab\\tcr\\rbell\\u0007\\u007f\"");
        expect_json("gr\xc3\xbc\xc3\x9f", "\"gr\xc3\xbc\xc3\x9f\"");
        expect_json("bad\xff\xc3(", "\"bad\\\\xff\\\\xc3(\"");
        expect_json("", "\"\"");
        expect_json(NULL, "null");
}

Test(escape, c_strings) {
        expect_cescape("plain /path", "plain /path");
        expect_cescape("a\\b\nc\td\x1b[31m", "a\\\\b\\nc\\td\\x1b[31m");
        expect_cescape("gr\xc3\xbc\xc3\x9f", "gr\xc3\xbc\xc3\x9f");
        expect_cescape("bad\xff", "bad\\xff");
}

/* A scan as the scanner would build it, with hostile names everywhere. */
static HolderScan *make_scan(void) {
        static char *mounts[] = { "/mnt/a\"b\xff", NULL };
        static pid_t members[] = { 10, 11 }, threads[] = { 12 };
        static HolderRef refs[] = {
                { .kind = HOLDER_REF_CWD, .fd = -1, .path = "/" },
                { .kind = HOLDER_REF_FD, .fd = 3, .path = "/x\ny" },
                { .kind = HOLDER_REF_CWD, .fd = -1, .path = "/srv", .tid = 13 },
        };
        static Holder procs[] = {
                { .pid = 10, .ppid = 1, .comm = "evil\x1b]0;", .unit = "a.service", .root_member = true,
                  .refs = refs, .n_refs = 3 },
                { .pid = 5, .tid = 12, .ppid = 1, .comm = "worker", .root_member = true },
        };
        static HolderPin pins[] = { { .kind = HOLDER_PIN_MOUNT, .mntns = 100, .path = "/run/p", .fd = -1 } };
        static HolderNamespace ns[] = {
                { .ino = 200, .id = 7, .mount_points = mounts, .members = members, .n_members = 2,
                  .threads = threads, .n_threads = 1, .processes = procs, .n_processes = 2, .pins = pins,
                  .n_pins = 1 },
        };
        static StackedHolder stacked[] = { { .kind = STACKED_HOLDER, .name = "dm-9", .dev = 0 } };
        static HolderScan s = {
                .source = MOUNT_SOURCE_LISTMOUNT,
                .walk = HOLDER_WALK_BPF,
                .self_mntns = 100,
                .namespaces = ns,
                .n_namespaces = 1,
                .stacked = stacked,
                .n_stacked = 1,
                .n_processes = 50,
                .n_processes_inaccessible = 1,
                .n_namespaces_scanned = 3,
                .duration_usec = 1500,
        };

        s.dev = makedev(253, 7);
        return &s;
}

static char *print(bool json, bool full) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        cr_assert_not_null(f);
        cr_assert_eq(json ? holders_print_json(f, make_scan(), "/dev/dm-7") : holders_print_table(f, make_scan(), "/dev/dm-7", full), 0);
        fclose(f);
        return buf;
}

Test(holders_format, json_is_exact_and_valid) {
        _cleanup_free_ char *j = print(true, false);
        const char *expected =
                "{\"device\":\"/dev/dm-7\",\"major\":253,\"minor\":7,\"source\":\"listmount\",\"walk\":\"bpf\","
                "\"files_scanned\":false,\"mntns\":100,\"namespaces\":[{\"mntns\":200,\"mntns_id\":7,"
                "\"ours\":false,\"mount_points\":[\"/mnt/a\\\"b\\\\xff\"],\"members\":[10,11],\"threads\":[12],"
                "\"pinned_by\":[{\"kind\":\"mount\",\"mntns\":100,\"path\":\"/run/p\"}],"
                "\"processes\":[{\"pid\":10,\"ppid\":1,\"comm\":\"evil\\u001b]0;\",\"unit\":\"a.service\","
                "\"root_member\":true,\"references\":[{\"kind\":\"cwd\",\"path\":\"/\"},"
                "{\"kind\":\"fd\",\"fd\":3,\"path\":\"/x\\ny\"},{\"kind\":\"cwd\",\"tid\":13,\"path\":\"/srv\"}]},"
                "{\"pid\":5,\"tid\":12,\"ppid\":1,\"comm\":\"worker\",\"unit\":null,\"root_member\":true,"
                "\"references\":[]}]}],"
                "\"stacked\":[{\"kind\":\"holder\",\"name\":\"dm-9\",\"major\":0,\"minor\":0}],"
                "\"stats\":{\"processes\":50,\"processes_inaccessible\":1,\"processes_vanished\":0,"
                "\"namespaces\":3,\"namespaces_inaccessible\":0,\"namespaces_cleared\":0,\"duration_usec\":1500}}\n";

        cr_assert_str_eq(j, expected);

        /* And a real parser agrees, where there is one. */
        if (access("/usr/bin/python3", X_OK) == 0) {
                FILE *p = popen("/usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)'", "w");

                cr_assert_not_null(p);
                fputs(j, p);
                cr_assert_eq(pclose(p), 0, "python3 rejected the JSON");
        }
}

Test(holders_format, table_escapes_and_summarizes) {
        _cleanup_free_ char *t = print(false, true);

        cr_assert(strstr(t, "Holders of /dev/dm-7 (253:7):\n"), "%s", t);
        cr_assert(strstr(t, "Mount namespace 200: 2 processes, 1 thread of a process elsewhere\n"), "%s", t);
        cr_assert(strstr(t, "    mounted at /mnt/a\"b\\xff\n"), "%s", t);
        cr_assert(strstr(t, "pinned by the bind mount /run/p in mount namespace 100 (ours)"), "%s", t);
        cr_assert(strstr(t, "    members: 10 11\n"), "%s", t);
        cr_assert(strstr(t, "    threads: 12\n"), "%s", t);
        cr_assert(strstr(t, " worker           -                            thread 12, root member\n"), "%s", t);
        cr_assert(strstr(t, ", cwd of thread 13 /srv\n"), "%s", t);
        cr_assert(strstr(t, "evil\\x1b]0;"), "terminal escapes must be defused: %s", t);
        cr_assert(strstr(t, "root member, cwd /, fd 3 /x\\ny"), "%s", t);
        cr_assert(strstr(t, "dm-9: block device built on it"), "%s", t);
        cr_assert(strstr(t, "skipped: 1 inaccessible process, 0 exited meanwhile, 0 unreachable namespaces"), "%s", t);
        cr_assert_null(strchr(t, '\x1b'));
}

Test(holders_format, nothing_holds) {
        HolderScan s = { .dev = makedev(7, 3), .source = MOUNT_SOURCE_MOUNTINFO, .files_scanned = true };
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        cr_assert_eq(holders_print_table(f, &s, "/dev/loop3", false), 0);
        fclose(f);
        cr_assert_str_eq(buf, "Nothing holds /dev/loop3 (7:3).\n"
                              "Scanned 0 processes (auto) and 0 mount namespaces (mountinfo, open files too) in 0.0 ms.\n");
        free(buf);
}

Test(holders_format, summary_says_what_the_mount_walk_cleared) {
        HolderScan s = { .dev = makedev(7, 3), .source = MOUNT_SOURCE_LISTMOUNT, .walk = HOLDER_WALK_BPF,
                         .n_processes = 74, .n_namespaces_scanned = 5, .n_namespaces_cleared = 4,
                         .duration_usec = 1500 };
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        holders_print_summary(f, &s);
        fclose(f);
        cr_assert_str_eq(buf, "Scanned 74 processes (bpf) and 5 mount namespaces (listmount, 4 cleared by the BPF "
                              "mount walk; open files not scanned, --full scans them) in 1.5 ms.\n");
        free(buf);
}
