/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dmwardend on the system bus (or $DBUS_SYSTEM_BUS_ADDRESS): the name
 * org.dmwarden1, the manager object /org/dmwarden1 (with the
 * ObjectManager), one object per watched device, and the signals. The Bus
 * serves what the layers below own (devices, leak handling, the
 * configuration); what only the daemon knows, the engine and reloading, it
 * asks through BusOps. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "bus/bus-polkit.h"
#include "config/config.h"
#include "engine/engine.h"
#include "reap/leak-handler.h"
#include "shared/bus-api.h"
#include "watch/device-watch.h"

/* The engine as the Engine* properties show it. */
typedef struct BusEngineInfo {
        EngineState state;
        pid_t pid;                      /* its main PID, or the watched process's; 0: none */
        uint64_t namespace_inode;
        const char *namespace_path;     /* the pin; NULL: /proc/PID/ns/mnt of pid */
        const char *unit;               /* the engine's own scope; NULL: none */
        bool adopted;                   /* left running by a previous dmwardend */
} BusEngineInfo;

typedef struct BusOps {
        void (*engine_info)(void *userdata, BusEngineInfo *ret);
        /* Re-reads the configuration: 0, -EINVAL if it was rejected (the
         * running one stays), or another negative errno. */
        int (*reload)(void *userdata);
} BusOps;

typedef struct Bus {
        sd_bus *bus;                    /* NULL until started, and without a system bus */
        sd_event *event;
        const char *config_path;        /* borrowed, like every pointer here */
        const Config *config;           /* bus_set_config() after a reload */
        DeviceWatch *watch;
        LeakHandler *leak_handler;
        const char *walk_unavailable;   /* why scans have no BPF task walk; "": they have */
        const BusOps *ops;
        void *userdata;
        PolkitQuery *polkit_queries;    /* owned: the calls waiting for polkit */
} Bus;

/* A Bus with what it serves, not yet on the bus: every pointer of
 * template is borrowed and must outlive it. */
int bus_new(const Bus *template, Bus **ret);
/* Drops the calls still waiting for polkit, flushes what is queued and
 * leaves the bus. */
Bus *bus_free(Bus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

/* Connects, registers the objects and requests the name; 0 without a
 * system bus (the D-Bus API is then off, which it logs). */
int bus_start(Bus *b);
void bus_set_config(Bus *b, const Config *config);

/* The announcements below do nothing while b is NULL or not connected. */

/* From the device watch: InterfacesAdded / PropertiesChanged /
 * InterfacesRemoved for the device, and the manager's counters. */
void bus_device_changed(Bus *b, Device *d, DeviceEvent ev, DeviceState old_state);
/* From leak handling: HolderReaped for one holder of d (action "detach",
 * result "ok" or what went wrong), and the HoldersReaped counter. */
void bus_holder_reaped(Bus *b, Device *d, const HolderRecord *h, const char *action, const char *result);
/* A manager property changed (EngineState, EnginePID, ...); NULL-terminated. */
void bus_manager_changed(Bus *b, const char *property, ...) _sentinel_;
