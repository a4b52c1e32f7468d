/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every MESSAGE_ID in alert-ids.h has a catalog entry with the headers
 * journalctl -x needs, and the catalog has no entry for an id we never
 * send. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reap/alert.h"

#define MAX_IDS 64

static size_t read_ids(const char *path, const char *prefix, char ids[][33]) {
        char line[512];
        size_t n = 0;
        FILE *f = fopen(path, "re");

        cr_assert_not_null(f, "cannot open %s", path);
        while (fgets(line, sizeof(line), f)) {
                char *p = strstr(line, prefix);

                if (!p || n >= MAX_IDS)
                        continue;
                p += strlen(prefix);
                /* The header's lines name the id in quotes after the macro. */
                if (strchr(p, '"'))
                        p = strchr(p, '"') + 1;
                cr_assert_eq(strspn(p, "0123456789abcdef"), 32, "%s: not a 128-bit id: %s", path, line);
                memcpy(ids[n], p, 32);
                ids[n++][32] = '\0';
        }
        fclose(f);
        return n;
}

static bool contains(char ids[][33], size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq(ids[i], id))
                        return true;
        return false;
}

static void source_path(char *buf, size_t size, const char *rel) {
        const char *root = getenv("DMWARDEN_SOURCE_ROOT");

        cr_assert_not_null(root, "DMWARDEN_SOURCE_ROOT is not set; run the tests through meson");
        snprintf(buf, size, "%s/%s", root, rel);
}

Test(catalog, ids_and_entries_match) {
        char header[4096], catalog[4096], ids[MAX_IDS][33], entries[MAX_IDS][33];
        size_t n_ids, n_entries;

        source_path(header, sizeof(header), "daemon/reap/alert-ids.h");
        source_path(catalog, sizeof(catalog), "conf/dmwarden.catalog");
        n_ids = read_ids(header, "#define ALERT_ID_", ids);
        n_entries = read_ids(catalog, "-- ", entries);

        cr_assert_eq(n_ids, (size_t) _ALERT_KIND_MAX, "alert-ids.h lists %zu ids for %d kinds", n_ids,
                     _ALERT_KIND_MAX);
        for (size_t i = 0; i < n_ids; i++)
                cr_assert(contains(entries, n_entries, ids[i]), "no catalog entry for %s", ids[i]);
        for (size_t i = 0; i < n_entries; i++)
                cr_assert(contains(ids, n_ids, entries[i]), "catalog entry %s is for no alert", entries[i]);
        for (AlertKind k = 0; k < _ALERT_KIND_MAX; k++)
                cr_assert(contains(ids, n_ids, alert_kind_id(k)), "kind %s has an id not in the header",
                          alert_kind_to_string(k));
}

Test(catalog, every_entry_has_its_headers) {
        char catalog[4096], line[512];
        int in_entry = 0, subject = 0, defined = 0, support = 0, n = 0;
        FILE *f;

        source_path(catalog, sizeof(catalog), "conf/dmwarden.catalog");
        f = fopen(catalog, "re");
        cr_assert_not_null(f);
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "-- ", 3) == 0) {
                        cr_assert(!in_entry || (subject && defined && support), "entry before line \"%s\" is "
                                  "missing Subject:, Defined-By: or Support:", line);
                        in_entry = 1;
                        subject = defined = support = 0;
                        n++;
                } else if (in_entry) {
                        subject |= strncmp(line, "Subject: ", 9) == 0;
                        defined |= strcmp(line, "Defined-By: dmwarden\n") == 0;
                        support |= strncmp(line, "Support: ", 9) == 0;
                }
        }
        fclose(f);
        cr_assert(subject && defined && support, "the last entry is missing a header");
        cr_assert_eq(n, _ALERT_KIND_MAX);
}

/* journalctl itself compiles the catalog and lists one entry per id. */
Test(catalog, journalctl_reads_it) {
        char dir[256], catalog[4096], cmd[8192], line[512];
        unsigned n = 0;
        FILE *p;

        if (system("command -v journalctl >/dev/null 2>&1") != 0)
                cr_skip_test("no journalctl here");
        source_path(catalog, sizeof(catalog), "conf/dmwarden.catalog");
        snprintf(dir, sizeof(dir), "/tmp/dmwarden-catalog-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(cmd, sizeof(cmd),
                 "mkdir -p %s/usr/lib/systemd/catalog && cp %s %s/usr/lib/systemd/catalog/ && "
                 "journalctl --root=%s --update-catalog && journalctl --root=%s --list-catalog",
                 dir, catalog, dir, dir, dir);
        p = popen(cmd, "r");
        cr_assert_not_null(p);
        while (fgets(line, sizeof(line), p))
                n += strstr(line, " dmwarden: ") != NULL;
        cr_assert_eq(pclose(p), 0, "journalctl rejected the catalog");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void) system(cmd);
        cr_assert_eq(n, (unsigned) _ALERT_KIND_MAX, "journalctl lists %u dmwarden entries", n);
}
