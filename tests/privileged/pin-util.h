/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A namespace kept alive by nothing but a pin: what anyone may make with
 * `unshare -Urm` and a bind mount of /proc/PID/ns/mnt. */

/* Makes a new mount namespace, bind-mounts it onto the existing file pin
 * (in the caller's namespace), and ends the namespace's only process.
 * For children of a test: returns 0, or a small number saying which step
 * failed (an exit status). */
int pin_new_namespace(const char *pin);
