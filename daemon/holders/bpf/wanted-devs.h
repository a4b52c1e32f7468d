/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0-only */
#pragma once

/* The devices a walk is asked about, set by user space before each walk
 * (task-walk-bpf.c): a map of each BPF program that includes this, and the
 * test of a device number against it. */

#include "task-walk-record.h"

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, TASK_WALK_MAX_DEVS);
        __type(key, __u32);
        __type(value, __u8);
} wanted_devs SEC(".maps");

static inline bool wanted(__u32 dev) {
        return dev != 0 && bpf_map_lookup_elem(&wanted_devs, &dev);
}
