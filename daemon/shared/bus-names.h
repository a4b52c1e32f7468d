/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What crosses the bus as names: device names checked as callers send them,
 * reap actions by name, and kernel strings (device names, comm, paths: any
 * byte but NUL) made valid for D-Bus, which only carries UTF-8. Pure. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "shared/reap-action.h"

/* device-mapper's limit: DM_NAME_LEN (128) with the NUL. */
#define DEVICE_NAME_MAX 127

/* Whether name can be a device-mapper name: 1..127 bytes. */
bool device_name_is_valid(const char *name);

/* A device name from a caller; sets BUS_ERROR_INVALID_NAME and returns
 * -EINVAL if it cannot name any device. */
int bus_check_device_name(const char *name, sd_bus_error *error);
/* An action name from a caller; sets BUS_ERROR_INVALID_ACTION and returns
 * -EINVAL if it is none of report, detach, restart-unit, kill. */
int bus_parse_reap_action(const char *s, ReapAction *ret, sd_bus_error *error);

/* s as it goes on the bus: itself if it is valid UTF-8, else with every
 * byte that is not written as \xNN (and so backslashes as \\, see
 * cescape()). Callers name a device by either form. */
int bus_string_from_kernel(const char *s, char **ret);
/* Whether the string a caller sent names the device called name. */
bool bus_string_names_device(const char *s, const char *name);
/* Appends s ("s") as bus_string_from_kernel() makes it. */
int bus_message_append_kernel_string(sd_bus_message *m, const char *s);

/* "/org/dmwarden1/device/" + the escaped name; round-trips every byte. */
int bus_device_path(const char *name, char **ret);
/* The name back from a device object path; -EINVAL if it is not one. */
int bus_device_name_from_path(const char *path, char **ret);
