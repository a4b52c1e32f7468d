/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The man pages were built, and they keep up with the code: every key the
 * configuration table knows is in dmwarden.conf(5), every D-Bus error name
 * the daemon can send is in dmwardend(8), every command and option
 * dmwardenctl --help lists is in dmwardenctl(1). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fileio.h"
#include "config/config.h"
#include "shared/bus-error.h"

#define PAGE_MAX (1024 * 1024)

/* The roff text of a built page, from the build directory meson names. */
static char *read_page(const char *page) {
        const char *dir = getenv("DMWARDEN_MAN_DIR");
        char path[512], *text = NULL;
        size_t size;
        int r;

        cr_assert_not_null(dir, "DMWARDEN_MAN_DIR is not set; run the tests through meson");
        snprintf(path, sizeof(path), "%s/%s", dir, page);
        r = read_full_at(AT_FDCWD, path, PAGE_MAX, &text, &size);
        cr_assert_geq(r, 0, "%s was not built: %s", path, strerror(-r));
        return text;
}

/* What a program printed to stdout. */
static char *read_command(const char *command) {
        char *text = NULL, buf[4096];
        size_t size = 0, n;
        FILE *p = popen(command, "re"), *f = open_memstream(&text, &size);

        cr_assert_not_null(p, "cannot run %s", command);
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                fwrite(buf, 1, n, f);
        cr_assert_eq(pclose(p), 0, "%s failed", command);
        fclose(f);
        return text;
}

/* Whether word, in bold (scdoc's *word*), heads an entry of the page: scdoc
 * writes a term on a line of its own and indents its text after it. */
static bool page_has_entry(const char *page, const char *word) {
        char needle[256];

        snprintf(needle, sizeof(needle), "\\fB%s\\fR", word);
        for (const char *p = strstr(page, needle); p; p = strstr(p + 1, needle)) {
                const char *eol = strchrnul(p, '\n');

                if (strncmp(eol, "\n.RS", 4) == 0)
                        return true;
        }
        return false;
}

Test(man, pages_are_built_as_roff) {
        static const char *const pages[][2] = {
                { "dmwardend.8", ".TH \"dmwardend\" \"8\"" },
                { "dmwardenctl.1", ".TH \"dmwardenctl\" \"1\"" },
                { "dmwarden.conf.5", ".TH \"dmwarden.conf\" \"5\"" },
        };

        for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
                char *text = read_page(pages[i][0]);

                cr_assert(strstr(text, pages[i][1]), "%s has no title line %s", pages[i][0], pages[i][1]);
                cr_assert(strstr(text, ".SH NAME") && strstr(text, ".SH SEE ALSO"), "%s lacks sections",
                          pages[i][0]);
                /* Paths were filled in by meson, none left as a placeholder. */
                cr_assert_null(strchr(text, '@'), "%s has an unsubstituted @: %s", pages[i][0],
                               strchr(text, '@'));
                free(text);
        }
}

Test(man, conf_page_names_every_key) {
        _cleanup_(config_freep) Config *c = NULL;
        char *dump = NULL, *page = read_page("dmwarden.conf.5"), *line, *save = NULL;
        size_t size = 0;
        unsigned n = 0;
        FILE *f = open_memstream(&dump, &size);

        /* config_dump_all() prints every key of the table, in order. */
        cr_assert_eq(config_new(&c), 0);
        cr_assert_eq(config_dump_all(c, f), 0);
        cr_assert_eq(fclose(f), 0);
        for (line = strtok_r(dump, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');

                if (line[0] == '[') {
                        char heading[64];

                        /* "[Engine]" documented as ".SH [ENGINE] SECTION". */
                        snprintf(heading, sizeof(heading), ".SH %s SECTION", line);
                        for (char *p = heading + 4; *p; p++)
                                *p = (char) toupper((unsigned char) *p);
                        cr_assert(strstr(page, heading), "dmwarden.conf(5) has no %s", heading);
                        continue;
                }
                cr_assert_not_null(eq, "not a key: %s", line);
                eq[1] = '\0';
                cr_assert(page_has_entry(page, line), "dmwarden.conf(5) has no entry for %s", line);
                n++;
        }
        cr_assert_geq(n, 20, "only %u keys in the dump:\n%s", n, dump);
        free(dump);
        free(page);
}

Test(man, daemon_page_names_every_error) {
        static const char prefix[] = "org.dmwarden1.Error.";
        char *page = read_page("dmwardend.8"), needle[128];
        unsigned n = 0;

        for (const sd_bus_error_map *e = bus_error_map; e->name; e++, n++) {
                cr_assert(strncmp(e->name, prefix, strlen(prefix)) == 0, "%s is not dmwarden's", e->name);
                /* In bold, by the last part (the first is written out in
                 * full, and scdoc breaks its dots with \&). */
                snprintf(needle, sizeof(needle), "%s\\fR", e->name + strlen(prefix));
                cr_assert(strstr(page, needle), "dmwardend(8) does not name %s", e->name);
        }
        cr_assert_geq(n, 9, "only %u error names in the map", n);
        free(page);
}

Test(man, ctl_page_names_every_command_and_option) {
        const char *ctl = getenv("DMWARDENCTL");
        char command[512], *help, *page = read_page("dmwardenctl.1"), *line, *save = NULL;
        bool in_commands = false;
        unsigned n_commands = 0, n_options = 0;

        cr_assert_not_null(ctl, "DMWARDENCTL is not set; run the tests through meson");
        snprintf(command, sizeof(command), "'%s' --help", ctl);
        help = read_command(command);

        for (line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char word[64];

                /* Commands are "  name ..." lines, between "Commands:" and
                 * "Options:" (strtok_r skips the blank line). */
                if (streq(line, "Commands:") || streq(line, "Options:")) {
                        in_commands = streq(line, "Commands:");
                        continue;
                }
                if (in_commands && strncmp(line, "  ", 2) == 0 && line[2] != ' ' &&
                    sscanf(line, " %63[a-z-]", word) == 1) {
                        cr_assert(page_has_entry(page, word), "dmwardenctl(1) has no entry for the command %s",
                                  word);
                        n_commands++;
                }
                for (char *o = strstr(line, " --"); o; o = strstr(o + 1, " --"))
                        if (sscanf(o + 1, "%63[a-z-]", word) == 1) {
                                cr_assert(page_has_entry(page, word), "dmwardenctl(1) has no entry for %s", word);
                                n_options++;
                        }
        }
        cr_assert_geq(n_commands, 6, "only %u commands found in --help:\n%s", n_commands, help);
        cr_assert_geq(n_options, 5, "only %u options found in --help:\n%s", n_options, help);
        free(help);
        free(page);
}
