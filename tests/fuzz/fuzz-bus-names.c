/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What crosses the bus as names, for any string: a device name maps to one
 * object path and back to itself; a path names a device only if it is the
 * very path that device gets; a kernel string made valid for D-Bus still
 * names its device; callers' names and actions are checked with named
 * errors. */
#include <errno.h>

#include "basic/escape.h"
#include "basic/utf8.h"
#include "fuzz.h"
#include "shared/bus-api.h"
#include "shared/bus-error.h"
#include "shared/bus-names.h"

static void check_device_path(const char *s) {
        _cleanup_free_ char *path = NULL, *back = NULL;
        int r;

        r = bus_device_path(s, &path);
        if (r == -ENOMEM)
                return;
        if (!device_name_is_valid(s)) {
                fuzz_check(r == -EINVAL);
                return;
        }
        fuzz_check(r >= 0);
        fuzz_check(sd_bus_object_path_is_valid(path));
        r = bus_device_name_from_path(path, &back);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0);
        fuzz_check(strcmp(back, s) == 0);
}

static void check_path_as_input(const char *s) {
        _cleanup_free_ char *name = NULL, *path = NULL;
        int r;

        r = bus_device_name_from_path(s, &name);
        if (r < 0)
                return;
        fuzz_check(device_name_is_valid(name));
        r = bus_device_path(name, &path);
        if (r == -ENOMEM)
                return;
        fuzz_check(r >= 0 && strcmp(path, s) == 0);
}

static void check_kernel_string(const char *s) {
        _cleanup_free_ char *text = NULL, *back = NULL;
        int r;

        r = bus_string_from_kernel(s, &text);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0);
        fuzz_check(!utf8_find_invalid(text, strlen(text)));
        fuzz_check(bus_string_names_device(text, s));
        fuzz_check(bus_string_names_device(s, s));
        if (strcmp(text, s) != 0) {
                r = cunescape(text, &back);
                fuzz_check(r == 0 || r == -ENOMEM);
                fuzz_check(r < 0 || strcmp(back, s) == 0);
        }
}

static void check_caller_input(const char *s) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        ReapAction action;
        int r;

        r = bus_check_device_name(s, &error);
        fuzz_check((r == 0) == device_name_is_valid(s));
        fuzz_check(r == 0 || sd_bus_error_has_name(&error, BUS_ERROR_INVALID_NAME));
        sd_bus_error_free(&error);

        r = bus_parse_reap_action(s, &action, &error);
        fuzz_check(r == 0 || sd_bus_error_has_name(&error, BUS_ERROR_INVALID_ACTION));
        fuzz_check(r < 0 || strcmp(reap_action_to_string(action), s) == 0);
        sd_bus_error_free(&error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_string(data, size);

        if (!s)
                return 0;
        check_device_path(s);
        check_path_as_input(s);
        check_kernel_string(s);
        check_caller_input(s);
        return 0;
}
