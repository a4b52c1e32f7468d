/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authorizing privileged bus calls: root at once, anyone else by asking
 * polkit asynchronously and acting (or denying) when it answers. */

#include <systemd/sd-bus.h>

#define POLKIT_ACTION_MANAGE "org.dmwarden1.manage"

/* What a method does once its caller is authorized. It replies to m itself
 * and returns >= 0, or returns negative errno with error set. It reads its
 * arguments again from the start of m. */
typedef int (*BusAuthorizedFunc)(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* Runs act now if the sender's effective UID is 0 and returns what it
 * returns; otherwise asks polkit for action_id and returns 1: act runs when
 * polkit allows, or m gets org.freedesktop.DBus.Error.AccessDenied. */
int bus_authorize(sd_bus_message *m, const char *action_id, BusAuthorizedFunc act, void *userdata,
                  sd_bus_error *error);
