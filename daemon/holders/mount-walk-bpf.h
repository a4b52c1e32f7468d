/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mount walk in the kernel (bpf/mount-walk.bpf.c): from the devices
 * asked about to the mount namespaces that mount them, and whether any of
 * their cached files is mapped. A program of its own beside the task walk,
 * so that a kernel without bpf_loop() (before 5.17) still has the task
 * walk; scans there read every namespace's table, as the /proc walk does.
 * Built only with -Dbpf; task-walk-bpf.c is its one user. */

#include "holders/task-walk.h"

struct mount_walk;

/* The loaded and attached programs, or NULL where they cannot load (said
 * at debug level: the task walk goes on without them). */
struct mount_walk *mount_walk_bpf_open(void);
void mount_walk_bpf_destroy(struct mount_walk *m);

/* The map of the devices asked about (bpf/wanted-devs.h). */
int mount_walk_bpf_wanted_fd(const struct mount_walk *m);

/* One walk: if it saw every mount and inode, res->mounting (the namespaces
 * with a mount of a device), res->mounts_known and res->unmapped. If it
 * did not, res is left alone (scans then read every table and mapping),
 * and only -ENOMEM is an error. */
int mount_walk_bpf_collect(struct mount_walk *m, TaskWalkResult *res);
