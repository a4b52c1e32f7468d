/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine namespace's handle for operators: /proc/PID/ns/mnt bind-mounted
 * on a file in dmwarden's runtime directory, and the namespace inode. */

#include <sys/types.h>

#include "config/config.h"

#define RUNTIME_DIR_DEFAULT "/run/dmwarden"
#define ENGINE_PIN_NAME "engine.mnt"

/* Makes dir exist and be a private mount point of its own. The kernel refuses
 * an nsfs bind mount where it could propagate back into the namespace it
 * names (a reference loop), so the pin must not live on a shared mount. */
int runtime_dir_prepare(const char *dir);
/* Undoes runtime_dir_prepare()'s self bind mount, if there is one. */
int runtime_dir_release(const char *dir);

/* Bind-mounts /proc/pid/ns/mnt on path (created as an empty file). */
int namespace_pin(pid_t pid, const char *path);
/* Lazily unmounts and removes a pin; a missing one is fine. */
int namespace_unpin(const char *path);

/* In a freshly forked child: a new mount namespace whose root mount has the
 * given propagation. Async-signal-safe. */
int namespace_enter_new(Propagation propagation);
