/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authorizing privileged bus calls: root at once, anyone else by asking
 * polkit asynchronously and acting (or denying) when it answers. */

#include <systemd/sd-bus.h>

/* The polkit actions (conf/org.dmwarden1.policy). Calls that only make the
 * daemon look again (Scan, Reload) ask for the first; calls that end
 * processes, detach mounts or remove devices (Reap, Remove), the second. */
#define POLKIT_ACTION_REFRESH "org.dmwarden1.refresh"
#define POLKIT_ACTION_REAP "org.dmwarden1.reap"

/* What a method does once its caller is authorized. It replies to m itself
 * and returns >= 0, or returns negative errno with error set. It reads its
 * arguments again from the start of m. */
typedef int (*BusAuthorizedFunc)(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* The questions still waiting for polkit's answer, owned by whoever owns
 * the bus connection; each leaves the list when its answer comes. */
typedef struct PolkitQuery PolkitQuery;

/* Runs act now if the sender's effective UID is 0 and returns what it
 * returns; otherwise asks polkit for action_id, adds the question to
 * *pending and returns 1: act runs when polkit allows, or m gets
 * org.freedesktop.DBus.Error.AccessDenied. */
int bus_authorize(sd_bus_message *m, const char *action_id, BusAuthorizedFunc act, void *userdata,
                  PolkitQuery **pending, sd_bus_error *error);

/* Drops every question still waiting (at exit: the answers would find no
 * one), with the calls they hold, each denied with the reason. */
void polkit_queries_free(PolkitQuery **pending);
