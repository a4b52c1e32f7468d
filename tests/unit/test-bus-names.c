/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device object paths, argument checks and strings as the bus carries them:
 * every byte a device-mapper name may hold must survive the trip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/bus-api.h"
#include "shared/bus-error.h"
#include "shared/bus-names.h"

static void assert_round_trip(const char *name) {
        char *path = NULL, *back = NULL;

        cr_assert_eq(bus_device_path(name, &path), 0, "no path for \"%s\"", name);
        cr_assert(sd_bus_object_path_is_valid(path), "invalid object path %s", path);
        cr_assert_eq(strncmp(path, BUS_DEVICE_PATH_PREFIX "/", strlen(BUS_DEVICE_PATH_PREFIX) + 1), 0);
        cr_assert_null(strchr(path + strlen(BUS_DEVICE_PATH_PREFIX) + 1, '/'), "%s is not one level deep", path);
        cr_assert_eq(bus_device_name_from_path(path, &back), 0, "%s does not decode", path);
        cr_assert_str_eq(back, name);
        free(path);
        free(back);
}

Test(bus_names, hostile_names_round_trip) {
        char longest[DEVICE_NAME_MAX + 1], every_byte[DEVICE_NAME_MAX + 1];

        assert_round_trip("docker-253:0-1234-5f2e");
        assert_round_trip("with space");
        assert_round_trip("a/b/../c");
        assert_round_trip("/");
        assert_round_trip("_");
        assert_round_trip("_2f");              /* looks like an escape */
        assert_round_trip("under_score_");
        assert_round_trip("gr\xc3\xbc\xc3\x9f");  /* UTF-8 */
        assert_round_trip("bad\x80\xff");      /* not UTF-8 */
        assert_round_trip("tab\tnew\nline");
        assert_round_trip(".");
        assert_round_trip("-");

        memset(longest, 'x', DEVICE_NAME_MAX);
        longest[DEVICE_NAME_MAX] = '\0';
        assert_round_trip(longest);

        /* Every byte but NUL, in names of the longest length. */
        for (int start = 1; start < 256; start += DEVICE_NAME_MAX) {
                int n = 0;

                for (int c = start; c < 256 && n < DEVICE_NAME_MAX; c++)
                        every_byte[n++] = (char) c;
                every_byte[n] = '\0';
                assert_round_trip(every_byte);
        }
}

Test(bus_names, distinct_names_get_distinct_paths) {
        char *a = NULL, *b = NULL;

        cr_assert_eq(bus_device_path("a_2f", &a), 0);
        cr_assert_eq(bus_device_path("a/", &b), 0);
        cr_assert_str_neq(a, b);
        free(a);
        free(b);
}

Test(bus_names, refuses_names_that_cannot_be_devices) {
        char too_long[DEVICE_NAME_MAX + 2];
        char *path = NULL;

        memset(too_long, 'x', DEVICE_NAME_MAX + 1);
        too_long[DEVICE_NAME_MAX + 1] = '\0';
        cr_assert_eq(bus_device_path("", &path), -EINVAL);
        cr_assert_eq(bus_device_path(too_long, &path), -EINVAL);
        cr_assert_null(path);
}

Test(bus_names, refuses_paths_we_never_hand_out) {
        static const char *const paths[] = {
                BUS_DEVICE_PATH_PREFIX,
                BUS_DEVICE_PATH_PREFIX "/_",         /* the empty name */
                BUS_DEVICE_PATH_PREFIX "/_61",       /* "a", but not as we write it */
                BUS_DEVICE_PATH_PREFIX "/a_zz",      /* a broken escape */
                BUS_DEVICE_PATH_PREFIX "/a_00b",     /* NUL */
                BUS_DEVICE_PATH_PREFIX "/a_2F",      /* upper-case hex */
                BUS_DEVICE_PATH_PREFIX "/a/b",       /* deeper */
                BUS_DEVICE_PATH_PREFIX "x/a",
                "/org/dmwarden1",
                "/",
        };
        char *name = NULL;

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                cr_assert_lt(bus_device_name_from_path(paths[i], &name), 0, "%s was taken for a device", paths[i]);
        cr_assert_null(name);
}

Test(bus_names, checks_device_names_from_callers) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char too_long[DEVICE_NAME_MAX + 2];

        cr_assert_eq(bus_check_device_name("thin-1", &error), 0);
        cr_assert(!sd_bus_error_is_set(&error));

        cr_assert_eq(bus_check_device_name("", &error), -EINVAL);
        cr_assert_str_eq(error.name, BUS_ERROR_INVALID_NAME);
        sd_bus_error_free(&error);

        memset(too_long, 'x', DEVICE_NAME_MAX + 1);
        too_long[DEVICE_NAME_MAX + 1] = '\0';
        cr_assert_eq(bus_check_device_name(too_long, &error), -EINVAL);
        cr_assert_str_eq(error.name, BUS_ERROR_INVALID_NAME);
        cr_assert_not_null(strstr(error.message, "128 bytes"), "%s", error.message);
        sd_bus_error_free(&error);
}

Test(bus_names, parses_reap_actions_by_name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        ReapAction a = _REAP_ACTION_MAX;

        cr_assert_eq(bus_parse_reap_action("restart-unit", &a, &error), 0);
        cr_assert_eq(a, REAP_RESTART_UNIT);
        cr_assert_eq(bus_parse_reap_action("kill", &a, &error), 0);
        cr_assert_eq(a, REAP_KILL);

        a = _REAP_ACTION_MAX;
        static const char *const bad[] = { "", "KILL", "kill ", "restart_unit", "nuke" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cr_assert_eq(bus_parse_reap_action(bad[i], &a, &error), -EINVAL, "\"%s\" accepted", bad[i]);
                cr_assert_str_eq(error.name, BUS_ERROR_INVALID_ACTION);
                sd_bus_error_free(&error);
        }
        cr_assert_eq(a, _REAP_ACTION_MAX, "a refused action changed the result");
}

Test(bus_names, kernel_strings_become_utf8) {
        char *s = NULL;

        cr_assert_eq(bus_string_from_kernel("gr\xc3\xbc\xc3\x9f", &s), 0);
        cr_assert_str_eq(s, "gr\xc3\xbc\xc3\x9f", "valid UTF-8 goes as it is");
        free(s);

        cr_assert_eq(bus_string_from_kernel("we\x80ird\\", &s), 0);
        cr_assert_str_eq(s, "we\\x80ird\\\\");
        free(s);

        cr_assert(bus_string_names_device("thin-1", "thin-1"));
        cr_assert(bus_string_names_device("we\\x80ird", "we\x80ird"), "the escaped form names it");
        cr_assert(!bus_string_names_device("we\\x80ird", "we\\x80ird-2"));
        cr_assert(!bus_string_names_device("thin", "thin-1"));
}

Test(bus_errors, errnos_map_to_names_and_back) {
        sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert_geq(bus_error_register(), 0);

        cr_assert_eq(bus_error_set_errnof(&error, -ENODEV, "no %s", "thin-9"), -ENODEV);
        cr_assert_str_eq(error.name, BUS_ERROR_NO_SUCH_DEVICE);
        cr_assert_str_eq(error.message, "no thin-9");
        cr_assert_eq(sd_bus_error_get_errno(&error), ENODEV);
        sd_bus_error_free(&error);

        cr_assert_eq(bus_error_set_errnof(&error, -EBUSY, "busy"), -EBUSY);
        cr_assert_str_eq(error.name, BUS_ERROR_BUSY);
        sd_bus_error_free(&error);

        /* Too general to mean a name or an action: sd-bus's own. */
        cr_assert_eq(bus_error_set_errnof(&error, -EINVAL, "bad"), -EINVAL);
        cr_assert_str_eq(error.name, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_error_free(&error);

        sd_bus_error_set(&error, BUS_ERROR_INVALID_ACTION, "x");
        cr_assert_eq(sd_bus_error_get_errno(&error), EINVAL);
        sd_bus_error_free(&error);
        sd_bus_error_set(&error, BUS_ERROR_NOT_SUPPORTED, "x");
        cr_assert_eq(sd_bus_error_get_errno(&error), EOPNOTSUPP);
        sd_bus_error_free(&error);
        /* Reap of a device that is not leaked: a name of its own. */
        sd_bus_error_set(&error, BUS_ERROR_NOT_LEAKED, "x");
        cr_assert_eq(sd_bus_error_get_errno(&error), EBADRQC);
        sd_bus_error_free(&error);
}

Test(bus_errors, messages_are_made_sendable) {
        sd_bus_error error = SD_BUS_ERROR_NULL;

        sd_bus_error_set(&error, BUS_ERROR_BUSY, "held by we\x80ird");
        cr_assert_eq(bus_error_make_sendable(&error), 0);
        cr_assert_str_eq(error.name, BUS_ERROR_BUSY);
        cr_assert_str_eq(error.message, "held by we\\x80ird");
        sd_bus_error_free(&error);
}
