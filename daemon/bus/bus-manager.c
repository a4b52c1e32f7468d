/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "bus/bus-device.h"
#include "bus/bus-manager.h"
#include "bus/bus-polkit.h"
#include "bus/bus.h"
#include "shared/bus-error.h"
#include "shared/bus-names.h"

/* Properties: userdata is the Bus. */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", DMWARDEN_VERSION);
}

static BusEngineInfo engine_info(const Bus *b) {
        BusEngineInfo info = {};

        b->ops->engine_info(b->userdata, &info);
        return info;
}

static int property_get_engine_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", engine_state_to_string(engine_info(userdata).state));
}

static int property_get_engine_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", (uint32_t) engine_info(userdata).pid);
}

static int property_get_engine_namespace(sd_bus *bus, const char *path, const char *interface,
                                         const char *property, sd_bus_message *reply, void *userdata,
                                         sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", engine_info(userdata).namespace_inode);
}

static int property_get_engine_unit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", strempty(engine_info(userdata).unit));
}

static int property_get_engine_adopted(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", engine_info(userdata).adopted);
}

static int property_get_engine_namespace_path(sd_bus *bus, const char *path, const char *interface,
                                              const char *property, sd_bus_message *reply, void *userdata,
                                              sd_bus_error *error) {
        BusEngineInfo info = engine_info(userdata);
        char proc[64];

        if (info.namespace_path)
                return bus_message_append_kernel_string(reply, info.namespace_path);
        if (info.pid <= 0)
                return sd_bus_message_append(reply, "s", "");
        (void) snprintf(proc, sizeof(proc), "/proc/%d/ns/mnt", (int) info.pid);
        return sd_bus_message_append(reply, "s", proc);
}

static int property_get_propagation(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "s", propagation_to_string(b->config->propagation));
}

static int property_get_default_action(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "s", reap_action_to_string(b->config->action));
}

static int property_get_stats(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);
        DeviceWatchStats s = {};

        if (b->watch)
                device_watch_stats(b->watch, &s);
        if (streq(property, "WatchedDevices"))
                return sd_bus_message_append(reply, "u", s.n_watched);
        if (streq(property, "LeakedDevices"))
                return sd_bus_message_append(reply, "u", s.n_leaked);
        if (streq(property, "LastScanUSec"))
                return sd_bus_message_append(reply, "t", s.last_scan_usec);
        if (streq(property, "ProcWalks"))
                return sd_bus_message_append(reply, "t", s.n_proc_walks);
        return sd_bus_message_append(reply, "t", s.last_scan_duration_usec);
}

/* The walk the last scan used: "bpf" or "proc". */
static int property_get_process_walk(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);
        DeviceWatchStats s = { .walk = HOLDER_WALK_PROC };

        if (b->watch)
                device_watch_stats(b->watch, &s);
        return sd_bus_message_append(reply, "s", holder_walk_to_string(s.walk));
}

static int property_get_process_walk_unavailable(sd_bus *bus, const char *path, const char *interface,
                                                 const char *property, sd_bus_message *reply, void *userdata,
                                                 sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "s", strempty(b->walk_unavailable));
}

static int property_get_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);
        uint64_t holders_reaped = 0, devices_removed = 0;

        if (b->leak_handler)
                leak_handler_counters(b->leak_handler, &holders_reaped, &devices_removed);
        return sd_bus_message_append(reply, "t", streq(property, "HoldersReaped") ? holders_reaped : devices_removed);
}

/* Space is read when asked for: it changes with every write, so no signal
 * could follow it. */
static int property_get_leaked_bytes(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "t", b->watch ? device_watch_leaked_bytes(b->watch, NULL) : 0);
}

static int property_get_pools(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Bus *b = ASSERT_PTR(userdata);
        const DeviceInfo *pools = NULL;
        size_t n = 0;
        int r;

        if (b->watch) {
                device_watch_refresh_pools(b->watch);
                pools = device_watch_pools(b->watch, &n);
        }
        r = sd_bus_message_open_container(reply, 'a', BUS_POOL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const DeviceInfo *p = &pools[i];

                if (!p->pool_space_known)
                        continue;  /* failed, or its status said nothing we know */
                r = sd_bus_message_open_container(reply, 'r', BUS_POOL_FIELDS);
                if (r >= 0)
                        r = bus_message_append_kernel_string(reply, p->name);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ttttt", p->pool_space.data_used_bytes,
                                                  p->pool_space.data_total_bytes, p->pool_space.metadata_used_bytes,
                                                  p->pool_space.metadata_total_bytes,
                                                  device_watch_leaked_bytes(b->watch, p->name));
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* Methods: parse, validate with a named error, authorize (polkit may answer
 * later, so the authorized half reads its arguments again), act, reply. */

static int method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Bus *b = ASSERT_PTR(userdata);
        Device **devices;
        size_t n = 0;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sos)");
        if (r < 0)
                return r;
        devices = b->watch ? device_watch_devices(b->watch, &n) : NULL;
        for (size_t i = 0; i < n; i++) {
                const char *p = bus_device_object_path(devices[i]);

                if (!p)
                        continue;
                r = sd_bus_message_open_container(reply, 'r', "sos");
                if (r >= 0)
                        r = bus_message_append_kernel_string(reply, devices[i]->info.name);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "os", p, device_state_to_string(devices[i]->state));
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int read_device(sd_bus_message *message, Bus *b, Device **ret, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        return bus_lookup_device(b, name, ret, error);
}

static int method_get_device(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Device *d;
        int r;

        r = read_device(message, userdata, &d, error);
        if (r < 0)
                return r;
        if (!bus_device_object_path(d))
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", d->object_path);
}

static int method_list_holders(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        HolderViewer viewer;
        Device *d;
        int r;

        r = read_device(message, userdata, &d, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        viewer = holder_viewer_of_message(message);
        r = bus_message_append_holders(reply, &d->holders, &viewer);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The pass Scan() asked for ended: the reply goes out now, an error
 * naming the device and the deadline if a scan stalled. */
static void scan_done(DeviceWatch *w, int r, const char *message, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        (void) w;
        if (r >= 0) {
                (void) sd_bus_reply_method_return(call, NULL);
                return;
        }
        if (r == -ETIMEDOUT)
                (void) sd_bus_error_set(&error, BUS_ERROR_SCAN_TIMED_OUT, message);
        else
                (void) bus_error_set_errnof(&error, r, "%s", message ?: strerror(-r));
        (void) bus_error_make_sendable(&error);
        (void) sd_bus_reply_method_error(call, &error);
}

/* Replies when the scans are done (scan_done), not before: they run off
 * the event loop. */
static int scan_authorized(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Bus *b = ASSERT_PTR(userdata);
        int r;

        if (!b->watch) {
                sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "No device watch is running.");
                return -EOPNOTSUPP;
        }
        r = device_watch_scan_all(b->watch, scan_done, message);
        if (r < 0)
                return bus_error_set_errnof(error, r, "Failed to scan the devices: %s", strerror(-r));
        sd_bus_message_ref(message);  /* scan_done's */
        return 1;
}

/* The managing methods: root, or whom polkit allows the method's action. */
static int authorize(sd_bus_message *message, const char *action_id, BusAuthorizedFunc act, Bus *b,
                     sd_bus_error *error) {
        return bus_authorize(message, action_id, act, b, &b->polkit_queries, error);
}

static int method_scan(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return authorize(message, POLKIT_ACTION_REFRESH, scan_authorized, userdata, error);
}

/* Reap(s name, s action) */
static int read_reap(sd_bus_message *message, Bus *b, Device **ret_device, ReapAction *ret_action,
                     sd_bus_error *error) {
        const char *name, *action;
        int r;

        r = sd_bus_message_read(message, "ss", &name, &action);
        if (r < 0)
                return r;
        r = bus_parse_reap_action(action, ret_action, error);
        if (r < 0)
                return r;
        return bus_lookup_device(b, name, ret_device, error);
}

/* Errors from the actions may name devices and paths, which need not be
 * UTF-8. */
static int action_failed(sd_bus_error *error, int r, const char *what) {
        if (!sd_bus_error_is_set(error))
                (void) bus_error_set_errnof(error, r, "Failed to %s: %s", what, strerror(-r));
        (void) bus_error_make_sendable(error);
        return r;
}

static int leak_handling(Bus *b, sd_bus_error *error) {
        if (!b->leak_handler)
                return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "Leak handling is not running.");
        return 0;
}

static int reap_authorized(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Bus *b = ASSERT_PTR(userdata);
        ReapAction action;
        Device *d;
        int r;

        r = read_reap(message, b, &d, &action, error);
        if (r < 0)
                return r;
        r = leak_handling(b, error);
        if (r >= 0)
                r = leak_handler_reap(b->leak_handler, d, action, error);
        if (r < 0)
                return action_failed(error, r, "reap the holders");
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reap(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ReapAction action;
        Device *d;
        int r;

        r = read_reap(message, userdata, &d, &action, error);
        if (r < 0)
                return r;
        return authorize(message, POLKIT_ACTION_REAP, reap_authorized, userdata, error);
}

static int remove_authorized(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Bus *b = ASSERT_PTR(userdata);
        Device *d;
        int r;

        r = read_device(message, b, &d, error);
        if (r < 0)
                return r;
        r = leak_handling(b, error);
        if (r >= 0)
                r = leak_handler_remove(b->leak_handler, d, error);
        if (r < 0)
                return action_failed(error, r, "remove the device");
        return sd_bus_reply_method_return(message, NULL);
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Device *d;
        int r;

        r = read_device(message, userdata, &d, error);
        if (r < 0)
                return r;
        return authorize(message, POLKIT_ACTION_REAP, remove_authorized, userdata, error);
}

static int reload_authorized(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Bus *b = ASSERT_PTR(userdata);
        int r;

        r = b->ops->reload(b->userdata);
        if (r == -EINVAL) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_CONFIGURATION,
                                  "Configuration %s rejected (see the journal); the running one stays.",
                                  b->config_path);
                return r;
        }
        if (r < 0)
                return bus_error_set_errnof(error, r, "Failed to reload %s: %s", b->config_path, strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return authorize(message, POLKIT_ACTION_REFRESH, reload_authorized, userdata, error);
}

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define HOLDER "(ussttbsst)"

/* Every method is reachable by anyone as far as sd-bus is concerned (it
 * would demand CAP_SYS_ADMIN otherwise): the privileged ones authorize the
 * caller themselves, so polkit can allow non-root operators. */
const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("EngineState", "s", property_get_engine_state, 0, CHANGES),
        SD_BUS_PROPERTY("EnginePID", "u", property_get_engine_pid, 0, CHANGES),
        SD_BUS_PROPERTY("EngineNamespace", "t", property_get_engine_namespace, 0, CHANGES),
        /* The engine's scope, "" without systemd; whether this dmwardend
         * adopted the engine rather than started it. */
        SD_BUS_PROPERTY("EngineUnit", "s", property_get_engine_unit, 0, CHANGES),
        SD_BUS_PROPERTY("EngineAdopted", "b", property_get_engine_adopted, 0, CHANGES),
        /* The pin's path, or the watched process's: fixed for the daemon's life. */
        SD_BUS_PROPERTY("EngineNamespacePath", "s", property_get_engine_namespace_path, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Propagation", "s", property_get_propagation, 0, CHANGES),
        SD_BUS_PROPERTY("DefaultAction", "s", property_get_default_action, 0, CHANGES),
        SD_BUS_PROPERTY("WatchedDevices", "u", property_get_stats, 0, CHANGES),
        SD_BUS_PROPERTY("LeakedDevices", "u", property_get_stats, 0, CHANGES),
        SD_BUS_PROPERTY("HoldersReaped", "t", property_get_counter, 0, CHANGES),
        SD_BUS_PROPERTY("DevicesRemoved", "t", property_get_counter, 0, CHANGES),
        /* Every scan pass moves these, and nothing tells the bus of a pass
         * that changed no device: introspection says they do not signal. */
        SD_BUS_PROPERTY("LastScanUSec", "t", property_get_stats, 0, 0),
        SD_BUS_PROPERTY("LastScanDurationUSec", "t", property_get_stats, 0, 0),
        /* Walks over the processes (through /proc, or in the kernel) the
         * holder scans made: one a pass for every device's mounts, one
         * more per device whose files are looked at. */
        SD_BUS_PROPERTY("ProcWalks", "t", property_get_stats, 0, 0),
        /* How the last scan found the processes ("bpf", "proc"; before
         * any, the walk to be tried): it moves with scans as the above do.
         * Why there is no BPF walk ("" when there is) is settled at start. */
        SD_BUS_PROPERTY("ProcessWalk", "s", property_get_process_walk, 0, 0),
        SD_BUS_PROPERTY("ProcessWalkUnavailable", "s", property_get_process_walk_unavailable, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LeakedBytes", "t", property_get_leaked_bytes, 0, 0),
        SD_BUS_PROPERTY("Pools", "a" BUS_POOL, property_get_pools, 0, 0),

        SD_BUS_METHOD_WITH_NAMES("ListDevices", NULL,, "a(sos)", SD_BUS_PARAM(devices),
                                 method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetDevice", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(path),
                                 method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListHolders", "s", SD_BUS_PARAM(name), "a" HOLDER, SD_BUS_PARAM(holders),
                                 method_list_holders, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Scan", NULL, NULL, method_scan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Reap", "ss", SD_BUS_PARAM(name) SD_BUS_PARAM(action), NULL,,
                                 method_reap, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Remove", "s", SD_BUS_PARAM(name), NULL,,
                                 method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_NAMES("LeakDetected", "soa" HOLDER,
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(path) SD_BUS_PARAM(holders), 0),
        SD_BUS_SIGNAL_WITH_NAMES("HolderReaped", "so" HOLDER "ss",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(path) SD_BUS_PARAM(holder)
                                 SD_BUS_PARAM(action) SD_BUS_PARAM(result), 0),
        SD_BUS_SIGNAL_WITH_NAMES("DeviceReleased", "so", SD_BUS_PARAM(name) SD_BUS_PARAM(path), 0),
        SD_BUS_SIGNAL_WITH_NAMES("DeviceRemoved", "so", SD_BUS_PARAM(name) SD_BUS_PARAM(path), 0),

        SD_BUS_VTABLE_END,
};
