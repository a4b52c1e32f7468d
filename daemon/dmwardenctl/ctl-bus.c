/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"
#include "dmwardenctl/ctl.h"
#include "shared/bus-api.h"
#include "shared/bus-error.h"

int ctl_open_bus(sd_bus **ret) {
        int r;

        (void) bus_error_register();
        r = sd_bus_open_system(ret);
        /* No socket, or nobody listening on it: no bus for dmwardend to be
         * on. Anything else is a fault of its own, not a stopped daemon. */
        if (IN_SET(r, -ENOENT, -ECONNREFUSED))
                return -ESRCH;
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus: %m");
                return EXIT_FAILED;
        }
        return 0;
}

int ctl_connect(sd_bus **ret) {
        int r;

        r = ctl_open_bus(ret);
        if (r == -ESRCH) {
                log_error("dmwardend is not running: there is no system bus to ask it on.");
                return EXIT_NOT_RUNNING;
        }
        return r;
}

bool ctl_daemon_missing(const sd_bus_error *error) {
        return sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}

int ctl_call_failed(int r, const sd_bus_error *error, const char *what) {
        if (ctl_daemon_missing(error)) {
                log_error("dmwardend is not running (nobody owns %s on the system bus).", BUS_NAME);
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED)) {
                log_error("Not allowed to %s: %s", what, error->message ?: "access denied");
                return EXIT_NOT_ALLOWED;
        }
        if (sd_bus_error_has_name(error, BUS_ERROR_NO_SUCH_DEVICE)) {
                log_error("Cannot %s: %s", what, error->message);
                return EXIT_NO_SUCH_DEVICE;
        }
        if (sd_bus_error_has_names(error, BUS_ERROR_INVALID_NAME, BUS_ERROR_INVALID_ACTION)) {
                log_error("Cannot %s: %s", what, error->message);
                return EXIT_BAD_ARGUMENT;
        }
        /* The daemon's own refusals: its message says why, in full. */
        if (sd_bus_error_has_names(error, BUS_ERROR_NOT_SUPPORTED, BUS_ERROR_BUSY, BUS_ERROR_PROTECTED,
                                   BUS_ERROR_NOT_WATCHED, BUS_ERROR_NOT_LEAKED, BUS_ERROR_INVALID_CONFIGURATION)) {
                log_error("Cannot %s: %s", what, error->message);
                return EXIT_FAILED;
        }
        log_error("Failed to %s: %s", what, sd_bus_error_is_set(error) && error->message ? error->message : strerror(-r));
        return EXIT_FAILED;
}

/* One entry of a property table: the name, its D-Bus type ('s', 'o', 'u',
 * 't', 'b'; 'H' counts the rows of a holder array into a uint32_t) and
 * where it goes. Strings point into the message. */
typedef struct CtlProperty {
        const char *name;
        char type;
        size_t offset;
} CtlProperty;

static int read_variant(sd_bus_message *m, char type, void *p) {
        uint32_t n = 0;
        int b, r;

        switch (type) {
        case 's':
        case 'o':
        case 'u':
        case 't':
                return sd_bus_message_read_basic(m, type, p);
        case 'b':
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r >= 0)
                        *(bool *) p = b;
                return r;
        case 'H':
                r = sd_bus_message_enter_container(m, 'a', "(ussttbsst)");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_skip(m, "(ussttbsst)")) > 0)
                        n++;
                if (r < 0)
                        return r;
                *(uint32_t *) p = n;
                return sd_bus_message_exit_container(m);
        default:
                return -EINVAL;
        }
}

/* Calls each(m, userdata) inside every entry of the dictionary array at m,
 * whose entries have the signature entry ("sv", "oa{sa{sv}}", ...). */
static int for_each_entry(sd_bus_message *m, const char *entry, int (*each)(sd_bus_message *m, void *userdata),
                          void *userdata) {
        char array[64];
        int r;

        (void) snprintf(array, sizeof(array), "{%s}", entry);
        r = sd_bus_message_enter_container(m, 'a', array);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                r = each(m, userdata);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

typedef struct PropertyTarget {
        const CtlProperty *table;
        void *base;
} PropertyTarget;

/* One {sv}: into its table entry if it has one of the right type. */
static int read_property(sd_bus_message *m, void *userdata) {
        const PropertyTarget *t = ASSERT_PTR(userdata);
        const CtlProperty *p = t->table;
        const char *name, *contents;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        while (p->name && !streq(p->name, name))
                p++;
        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (!p->name || !contents ||
            (p->type == 'H' ? !streq(contents, "a(ussttbsst)") : contents[0] != p->type || contents[1]))
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r >= 0)
                r = read_variant(m, p->type, (uint8_t *) t->base + p->offset);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

/* Reads an a{sv} into base by table; properties not in it are skipped. */
static int read_properties(sd_bus_message *m, const CtlProperty *table, void *base) {
        return for_each_entry(m, "sv", read_property, &(PropertyTarget) { table, base });
}

#define MANAGER_PROPERTY(name, type, field) { name, type, offsetof(CtlManager, field) }
static const CtlProperty manager_properties[] = {
        MANAGER_PROPERTY("Version", 's', version),
        MANAGER_PROPERTY("EngineState", 's', engine_state),
        MANAGER_PROPERTY("EnginePID", 'u', engine_pid),
        MANAGER_PROPERTY("EngineNamespace", 't', engine_namespace),
        MANAGER_PROPERTY("EngineNamespacePath", 's', engine_namespace_path),
        MANAGER_PROPERTY("Propagation", 's', propagation),
        MANAGER_PROPERTY("DefaultAction", 's', default_action),
        MANAGER_PROPERTY("WatchedDevices", 'u', watched),
        MANAGER_PROPERTY("LeakedDevices", 'u', leaked),
        MANAGER_PROPERTY("HoldersReaped", 't', holders_reaped),
        MANAGER_PROPERTY("DevicesRemoved", 't', devices_removed),
        MANAGER_PROPERTY("LastScanUSec", 't', last_scan_usec),
        MANAGER_PROPERTY("LastScanDurationUSec", 't', last_scan_duration_usec),
        MANAGER_PROPERTY("ProcessWalk", 's', process_walk),
        MANAGER_PROPERTY("ProcessWalkUnavailable", 's', process_walk_unavailable),
        {},
};

int ctl_get_manager(sd_bus *bus, CtlManager *ret, const char *what, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", BUS_MANAGER_INTERFACE);
        if (r < 0)
                return ctl_call_failed(r, &error, what);
        r = read_properties(reply, manager_properties, ret);
        if (r < 0) {
                log_error_errno(r, "Failed to %s: %m", what);
                return EXIT_FAILED;
        }
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

#define DEVICE_PROPERTY(name, type, field) { name, type, offsetof(CtlDevice, field) }
static const CtlProperty device_properties[] = {
        DEVICE_PROPERTY("Name", 's', name),
        DEVICE_PROPERTY("UUID", 's', uuid),
        DEVICE_PROPERTY("Target", 's', target),
        DEVICE_PROPERTY("Pool", 's', pool),
        DEVICE_PROPERTY("State", 's', state),
        DEVICE_PROPERTY("LastAction", 's', last_action),
        DEVICE_PROPERTY("Major", 'u', major),
        DEVICE_PROPERTY("Minor", 'u', minor),
        DEVICE_PROPERTY("OpenCount", 'u', open_count),
        DEVICE_PROPERTY("Holders", 'H', n_holders),
        DEVICE_PROPERTY("LeakedSinceUSec", 't', leaked_since_usec),
        DEVICE_PROPERTY("StateSinceUSec", 't', state_since_usec),
        DEVICE_PROPERTY("MappedBytes", 't', mapped_bytes),
        {},
};

/* One interface of an object: {sa{sv}}. */
static int read_interface(sd_bus_message *m, void *userdata) {
        CtlDevice *d = ASSERT_PTR(userdata);
        const char *interface;
        int r;

        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0)
                return r;
        if (!streq(interface, BUS_DEVICE_INTERFACE))
                return sd_bus_message_skip(m, "a{sv}");
        d->is_device = true;
        return read_properties(m, device_properties, d);
}

/* One object: {oa{sa{sv}}}; only devices are kept. */
static int read_object(sd_bus_message *m, void *userdata) {
        CtlDeviceList *l = ASSERT_PTR(userdata);
        CtlDevice *grown, *d;
        int r;

        grown = reallocarray(l->devices, l->n + 1, sizeof(CtlDevice));
        if (!grown)
                return -ENOMEM;
        l->devices = grown;
        d = &l->devices[l->n];
        *d = (CtlDevice) { .mapped_bytes = UINT64_MAX };
        r = sd_bus_message_read(m, "o", &d->path);
        if (r >= 0)
                r = for_each_entry(m, "sa{sv}", read_interface, d);
        if (r < 0)
                return r;
        if (d->is_device && d->name)
                l->n++;
        return 0;
}

static int compare_devices(const void *a, const void *b) {
        return strcmp(((const CtlDevice *) a)->name, ((const CtlDevice *) b)->name);
}

void ctl_device_list_done(CtlDeviceList *l) {
        l->reply = sd_bus_message_unref(l->reply);
        free(l->devices);
        l->devices = NULL;
        l->n = 0;
}

int ctl_get_devices(sd_bus *bus, CtlDeviceList *ret, sd_bus_error *error) {
        _cleanup_(ctl_device_list_done) CtlDeviceList l = {};
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", error, &l.reply, NULL);
        if (r < 0)
                return r;
        r = for_each_entry(l.reply, "oa{sa{sv}}", read_object, &l);
        if (r < 0)
                return r;
        if (l.n > 0)
                qsort(l.devices, l.n, sizeof(CtlDevice), compare_devices);
        *ret = l;
        l = (CtlDeviceList) {};
        return 0;
}

char *ctl_format_timestamp(char *buf, size_t size, usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (t == 0 || !localtime_r(&sec, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                (void) snprintf(buf, size, "-");
        return buf;
}

void ctl_print_cell(FILE *f, const char *s, int width) {
        _cleanup_free_ char *e = NULL;

        fprintf(f, "%-*s", width, ctl_cell_text(s, &e));
}
