/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwardenctl's side of the bus: connecting, reading the daemon's objects,
 * and the commands that only ask the daemon (status, list, holders NAME,
 * scan, reap, remove). Each command returns the process exit status. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "basic/time-util.h"
#include "dmwardenctl/ctl-table.h"

/* Distinct so scripts can tell them apart; 2, 3 and 4 follow the LSB
 * meanings ("invalid argument", "program is not running", "insufficient
 * privilege"); 5 is ours: a device name the daemon does not watch, or a
 * path that is no block device. */
#define EXIT_FAILED 1
#define EXIT_BAD_ARGUMENT 2
#define EXIT_NOT_RUNNING 3
#define EXIT_NOT_ALLOWED 4
#define EXIT_NO_SUCH_DEVICE 5

/* The system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured). Returns 0, -ESRCH
 * (not logged) if there is none, so dmwardend cannot be running, or the
 * exit status with the reason logged. */
int ctl_open_bus(sd_bus **ret);
/* The same, with "not running" logged and EXIT_NOT_RUNNING for no bus. */
int ctl_connect(sd_bus **ret);
/* Logs why a call failed, in words for an operator, and returns the exit
 * status that says it. */
int ctl_call_failed(int r, const sd_bus_error *error, const char *what);
/* Whether the call failed because nobody owns org.dmwarden1. */
bool ctl_daemon_missing(const sd_bus_error *error);

/* The manager's properties dmwardenctl shows (status) or reports after a
 * Scan. Strings point into the reply they were read from. */
typedef struct CtlManager {
        const char *version;
        const char *engine_state;
        uint32_t engine_pid;
        uint64_t engine_namespace;
        const char *engine_namespace_path;
        const char *propagation;
        const char *default_action;
        uint32_t watched;
        uint32_t leaked;
        uint64_t holders_reaped;
        uint64_t devices_removed;
        uint64_t last_scan_usec;
        uint64_t last_scan_duration_usec;
        const char *process_walk;       /* "bpf", "proc"; NULL: an older daemon */
        const char *process_walk_unavailable;
        uint64_t leaked_bytes;          /* in every pool (from Pools) */
        const char *pools;              /* each pool's fill, one text */
} CtlManager;

/* The strings point into *ret_reply. Returns 0, or the exit status with
 * the reason logged (what failed: "read the daemon's status"). */
int ctl_get_manager(sd_bus *bus, CtlManager *ret, const char *what, sd_bus_message **ret_reply);

typedef struct CtlDevice {
        const char *path;
        const char *name;
        const char *uuid;
        const char *target;
        const char *pool;
        const char *state;
        const char *last_action;
        uint32_t major;
        uint32_t minor;
        uint32_t open_count;
        uint32_t n_holders;
        uint64_t leaked_since_usec;
        uint64_t state_since_usec;
        uint64_t mapped_bytes;          /* UINT64_MAX: unknown */
        bool is_device;
} CtlDevice;

/* Every device object, sorted by name; the strings point into reply. */
typedef struct CtlDeviceList {
        sd_bus_message *reply;
        CtlDevice *devices;
        size_t n;
} CtlDeviceList;

void ctl_device_list_done(CtlDeviceList *l);
/* From GetManagedObjects. On failure error says why. */
int ctl_get_devices(sd_bus *bus, CtlDeviceList *ret, sd_bus_error *error);

/* "2026-01-31 12:00:00" in local time, "-" for 0. Returns buf. */
char *ctl_format_timestamp(char *buf, size_t size, usec_t t);
#define CTL_TIMESTAMP_MAX 32
/* Writes s for a terminal (control characters escaped), padded to width. */
void ctl_print_cell(FILE *f, const char *s, int width);

/* The tables of status, list (and scan) and holders, for the option
 * parser to check -o against. */
extern const CtlTableType ctl_status_table;
extern const CtlTableType ctl_device_table;
extern const CtlTableType ctl_holder_table;

/* One reference to a device as ListHolders sends it (a(ussttbsst), see
 * HolderRecord), and as a scan here makes it, strings in their bus form
 * (bytes that are not UTF-8 as \xNN). */
typedef struct CtlHolder {
        uint32_t pid;
        const char *comm;
        const char *unit;
        uint64_t mntns;
        uint64_t mount_id;
        bool root_member;
        const char *kind;
        const char *path;
        uint64_t tid;
} CtlHolder;

/* The rows as a table or JSON. Returns 0, or the exit status with the
 * reason logged. */
int ctl_print_holders(const CtlOutput *o, const CtlHolder *rows, size_t n);

/* The devices (those filter passes, if given) as a table or JSON. Returns
 * the exit status. */
int ctl_print_devices(const CtlOutput *o, const CtlDevice *devices, size_t n, bool (*filter)(const CtlDevice *d));

int ctl_status(sd_bus *bus, const CtlOutput *o);
int ctl_list(sd_bus *bus, const CtlOutput *o);
/* holders NAME through the daemon. Returns the exit status, or -ENODEV if
 * the daemon watches no such device, -ESRCH if it is not running, so the
 * caller may scan in-process instead. */
int ctl_holders(sd_bus *bus, const char *name, const CtlOutput *o);
/* The managing methods (root, or polkit's org.dmwarden1.refresh for scan,
 * org.dmwarden1.reap for reap and remove). reap with
 * action NULL runs the daemon's DefaultAction. */
int ctl_scan(sd_bus *bus, const CtlOutput *o);
int ctl_reap(sd_bus *bus, const char *name, const char *action, bool json);
int ctl_remove(sd_bus *bus, const char *name, bool json);
/* The daemon's name for the watched device with number dev. Returns 0,
 * -ENODEV if it watches none, -ESRCH if it is not running, or the exit
 * status with the daemon's reason logged. */
int ctl_device_name_by_number(sd_bus *bus, dev_t dev, char **ret);
