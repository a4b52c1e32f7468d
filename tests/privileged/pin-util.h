/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* A namespace kept alive by nothing but a pin: what anyone may make with
 * `unshare -Urm` and a bind mount of /proc/PID/ns/mnt. */

/* Makes a new mount namespace, bind-mounts it onto the existing file pin
 * (in the caller's namespace), and ends the namespace's only process.
 * For children of a test: returns 0, or a small number saying which step
 * failed (an exit status). */
int pin_new_namespace(const char *pin);

/* For a test about to pin namespaces: stays on one CPU (a pinned namespace
 * must be made after the one its pin goes into, in the kernel's order of
 * ids; see test-holder-scan.c), enters a private mount namespace of its
 * own, and mounts a small tmpfs at a new directory /tmp/PREFIX-XXXXXX,
 * whose path goes to root. */
void pin_world_enter(const char *prefix, char *root, size_t size);
