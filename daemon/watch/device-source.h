/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where devices come from: device-mapper with udev events on a real system,
 * or a directory of description files in the privileged tests (so the bus
 * and the life cycle run on hosts without device-mapper). The watch asks a
 * source for snapshots; the source tells the watch when something changed. */

#include <stddef.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "watch/device.h"

typedef struct DeviceSource DeviceSource;

/* name: the device that changed (added, changed or removed); NULL: anything
 * may have changed (an event overflow), re-enumerate everything. dev, if not
 * 0, is its number: whatever device the watch knows by that number changed
 * too (the name of a device that is gone may be only a hint, see
 * device_source_dm_new()). */
typedef void (*DeviceSourceChanged)(DeviceSource *s, const char *name, dev_t dev, void *userdata);

typedef struct DeviceSourceOps {
        const char *kind;       /* "device-mapper", "directory" */
        /* Starts delivering change events on the loop. */
        int (*start)(DeviceSource *s, sd_event *event);
        /* Every device now, whatever its target. */
        int (*enumerate)(DeviceSource *s, DeviceInfo **ret, size_t *ret_n);
        /* One device now; -ENODEV if it does not exist. */
        int (*query)(DeviceSource *s, const char *name, DeviceInfo *ret);
        /* Deactivates it; deferred: let the kernel do it at last close.
         * -ENODEV if it does not exist (any more). */
        int (*remove)(DeviceSource *s, const char *name, bool deferred);
        /* Sizes the buffer events wait in while the loop is busy (NULL: the
         * source has none); may be called before and after start. */
        int (*set_buffer)(DeviceSource *s, size_t bytes);
        void (*free)(DeviceSource *s);
} DeviceSourceOps;

struct DeviceSource {
        const DeviceSourceOps *ops;
        DeviceSourceChanged on_changed;
        void *userdata;
};

DeviceSource *device_source_free(DeviceSource *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(DeviceSource *, device_source_free);
void device_infos_free(DeviceInfo *infos, size_t n);
/* Moves *info to the end of the array (freeing it on failure). */
int device_infos_append(DeviceInfo **infos, size_t *n, DeviceInfo *info);

/* The real one: libudev monitor for block devices with DM_NAME, details
 * from libdevmapper. Names are the kernel's bytes (no libdevmapper
 * mangling). An event names its device by the kernel's name for its number;
 * udev's DM_NAME is not always that name (udev's rules replace bytes, cut
 * trailing blanks), so for a device already gone it is only a hint. */
int device_source_dm_new(DeviceSource **ret);
/* Test source: one file per device in dir (any file name not starting with
 * "."), lines "key=value": name (C-escaped, so any byte fits), uuid, dev
 * (MAJ:MIN), diskseq (absent: unknown), target, pool, open_count (absent:
 * unknown), deferred_remove, suspended, and the first target's table
 * parameters and status line as the kernel prints them: params, status
 * (thin and thin-pool space). inotify on dir reports changes (name NULL:
 * re-read all);
 * write files by rename() so no half file is read. remove() deletes the
 * file. */
int device_source_dir_new(const char *dir, DeviceSource **ret);
/* One description file's text (changed in place) as the directory source
 * reads it; file only names it in the log. -EINVAL on a bad line or without
 * name= and dev=. */
int device_description_parse(const char *file, char *text, DeviceInfo *ret);
