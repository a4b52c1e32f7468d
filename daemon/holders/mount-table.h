/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mounts of one device in one mount namespace, read through whichever
 * kernel interface this kernel has: listmount()/statmount() with the nsfs
 * namespace walk (Linux 6.12+) here, or the mountinfo text of any kernel
 * (holders/mountinfo.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum MountSource {
        MOUNT_SOURCE_AUTO,       /* listmount if this kernel has it, else mountinfo */
        MOUNT_SOURCE_LISTMOUNT,
        MOUNT_SOURCE_MOUNTINFO,
        _MOUNT_SOURCE_MAX,
} MountSource;

typedef struct MountEntry {
        uint64_t id;              /* listmount's 64-bit id, or mountinfo's */
        dev_t dev;
        char *root;               /* path inside the filesystem */
        char *mount_point;        /* as seen from the namespace's root */
        char *fstype;
        char *source;             /* may be NULL (statmount before 6.13) */
        uint64_t pinned_mntns;    /* an nsfs mount of a mount namespace: its inode */
} MountEntry;

typedef struct MountTable {
        MountEntry *entries;
        size_t n_entries;
        size_t n_entries_allocated;
} MountTable;

void mount_entry_done(MountEntry *e);
void mount_table_done(MountTable *t);
/* Moves *e into t (leaving *e empty) on success. */
int mount_table_add(MountTable *t, MountEntry *e);

const char *mount_source_to_string(MountSource s);
MountSource mount_source_from_string(const char *s);

/* Whether listmount(), statmount() with a namespace id, and the
 * NS_MNT_GET_NEXT walk all work here. Probes the kernel on every call. */
bool mount_source_listmount_supported(void);

/* Every reader keeps the mounts of dev and the nsfs mounts (the pins);
 * MOUNT_DEV_ANY keeps every mount, for a scan of many devices at once. */
#define MOUNT_DEV_ANY ((dev_t) 0)

/* The namespace's table by listmount()/statmount(), by namespace id. */
int mount_table_read_listmount(uint64_t mntns_id, dev_t dev, MountTable *t);

/* The 64-bit id of the mount namespace behind an nsfs fd (Linux 6.8+). */
int mount_ns_get_id(int mntns_fd, uint64_t *ret);

/* Calls f for every mount namespace the kernel lists, starting from ours,
 * with a borrowed fd that is closed when f returns. f returning < 0 stops
 * the walk with that value. */
typedef int (*mount_ns_walk_func_t)(int mntns_fd, uint64_t mntns_id, uint64_t ino, void *userdata);
int mount_ns_walk(mount_ns_walk_func_t f, void *userdata);

/* "mnt:[4026531840]" (an nsfs link target or dentry name) → 4026531840. */
int nsfs_name_parse(const char *s, const char *type, uint64_t *ret);
