/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/escape.h"
#include "basic/utf8.h"
#include "shared/bus-api.h"
#include "shared/bus-error.h"
#include "shared/bus-names.h"

bool device_name_is_valid(const char *name) {
        return name && *name && strlen(name) <= DEVICE_NAME_MAX;
}

int bus_check_device_name(const char *name, sd_bus_error *error) {
        if (isempty(name)) {
                sd_bus_error_set(error, BUS_ERROR_INVALID_NAME, "A device name cannot be empty.");
                return -EINVAL;
        }
        if (strlen(name) > DEVICE_NAME_MAX) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME,
                                  "A device name of %zu bytes is longer than device-mapper allows (%d).",
                                  strlen(name), DEVICE_NAME_MAX);
                return -EINVAL;
        }
        return 0;
}

int bus_parse_reap_action(const char *s, ReapAction *ret, sd_bus_error *error) {
        ReapAction a = reap_action_from_string(s);

        if ((int) a < 0) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_ACTION,
                                  "Unknown action \"%s\"; expected report, detach, restart-unit or kill.", s);
                return -EINVAL;
        }
        *ret = a;
        return 0;
}

int bus_string_from_kernel(const char *s, char **ret) {
        char *copy = utf8_find_invalid(s, strlen(s)) ? cescape(s) : strdup(s);

        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

bool bus_string_names_device(const char *s, const char *name) {
        _cleanup_free_ char *text = NULL;

        if (streq(s, name))
                return true;
        return bus_string_from_kernel(name, &text) >= 0 && streq(s, text);
}

int bus_message_append_kernel_string(sd_bus_message *m, const char *s) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = bus_string_from_kernel(strempty(s), &text);
        if (r < 0)
                return r;
        return sd_bus_message_append_basic(m, 's', text);
}

int bus_device_path(const char *name, char **ret) {
        if (!device_name_is_valid(name))
                return -EINVAL;
        /* Every byte but [A-Za-z0-9] becomes _XX, so '/' and non-ASCII
         * bytes are safe and the mapping is one to one. */
        return sd_bus_path_encode(BUS_DEVICE_PATH_PREFIX, name, ret);
}

int bus_device_name_from_path(const char *path, char **ret) {
        _cleanup_free_ char *name = NULL, *canonical = NULL;
        int r;

        r = sd_bus_path_decode(path, BUS_DEVICE_PATH_PREFIX, &name);
        if (r < 0)
                return r;
        if (r == 0 || !device_name_is_valid(name))
                return -EINVAL;
        /* sd-bus decodes leniently ("_zz" stays "_zz", "_61" is "a", "_00"
         * cuts the name): only the one path we hand out names the device. */
        r = bus_device_path(name, &canonical);
        if (r < 0)
                return r;
        if (!streq(canonical, path))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}
