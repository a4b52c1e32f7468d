/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every method of the exported vtables, called with any arguments of its
 * signature, the way sd-bus calls it once the signature matched (sd-bus
 * itself refuses a wrong signature before we see the call). The message
 * lives on a bus that never finishes connecting: replies and polkit
 * queries queue and go nowhere, and the sender's credentials cannot be
 * read, so nothing is ever authorized and no action runs. The bus
 * serves a watch of two devices from a directory source (one named in UTF-8, one
 * not), so lookups succeed too; this covers argument reading, validation,
 * lookup and the way to polkit, not the actions (the privileged suite
 * drives those on a real bus).
 * Property: a method that fails says why with a named error. */
#include <errno.h>
#include <sys/socket.h>
#include <syslog.h>

#include "basic/log.h"
#include "bus/bus-device.h"
#include "bus/bus-manager.h"
#include "bus/bus.h"
#include "config/config.h"
#include "fuzz.h"
#include "shared/bus-error.h"
#include "watch/device-source.h"
#include "watch/device-watch.h"

typedef struct Method {
        const char *interface;
        const sd_bus_vtable *entry;
} Method;

static sd_event *event;
static Config *config;
static DeviceWatch *watch;
static Bus *bus_object;
static Method methods[32];
static size_t n_methods;

static void add_methods(const char *interface, const sd_bus_vtable *vtable) {
        for (const sd_bus_vtable *v = vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_METHOD) {
                        fuzz_check(n_methods < ELEMENTSOF(methods));
                        methods[n_methods++] = (Method) { interface, v };
                }
}

static void write_description(const char *dir, const char *file, const char *text) {
        char path[256];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, file);
        f = fopen(path, "we");
        fuzz_check(f);
        fputs(text, f);
        fuzz_check(fclose(f) == 0);
}

/* The watch reads the descriptions once, at start; the files go right after,
 * since nothing here runs the event loop that would read them again. */
static void watch_two_devices(void) {
        char dir[] = "/tmp/fuzz-bus-methods.XXXXXX", path[256];
        DeviceSource *source = NULL;
        size_t n = 0;

        fuzz_check(mkdtemp(dir));
        write_description(dir, "a", "name=thin-a\ndev=7:250\ntarget=thin\npool=pool0\nopen_count=0\n");
        write_description(dir, "b", "name=thin\\x20b\\xff\ndev=7:251\ntarget=thin\npool=pool0\nopen_count=0\n");
        fuzz_check(device_source_dir_new(dir, &source) >= 0);
        fuzz_check(device_watch_new(event, config, source, NULL, NULL, NULL, &watch) >= 0);
        fuzz_check(device_watch_start(watch) >= 0);
        (void) device_watch_devices(watch, &n);
        fuzz_check(n == 2);
        for (const char *f = "a"; f; f = streq(f, "a") ? "b" : NULL) {
                (void) snprintf(path, sizeof(path), "%s/%s", dir, f);
                (void) unlink(path);
        }
        (void) rmdir(dir);
}

/* Never called: nothing is authorized (see above). */
static void no_engine(void *userdata, BusEngineInfo *ret) {
        *ret = (BusEngineInfo) { .state = ENGINE_NONE };
}

static int no_reload(void *userdata) {
        return -EOPNOTSUPP;
}

static const BusOps bus_ops = {
        .engine_info = no_engine,
        .reload = no_reload,
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        log_set_max_level(LOG_CRIT);
        fuzz_check(bus_error_register() >= 0);
        fuzz_check(config_new(&config) >= 0);
        fuzz_check(sd_event_new(&event) >= 0);
        watch_two_devices();
        fuzz_check(bus_new(&(Bus) {
                                   .event = event,
                                   .config_path = "/nonexistent/dmwarden.conf",
                                   .config = config,
                                   .watch = watch,
                                   .ops = &bus_ops,
                           },
                           &bus_object) >= 0);
        add_methods(BUS_MANAGER_INTERFACE, bus_manager_vtable);
        add_methods(BUS_DEVICE_INTERFACE, bus_device_vtable);
        return 0;
}

/* A bus object that is past "unset" (so messages can be made) and will
 * never be connected: its peer is a socket nobody reads or answers. */
static int bus_new_unconnected(sd_bus **ret, int *ret_peer) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int peer = -EBADF;
        int fds[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return -errno;
        peer = fds[1];
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fds[0], fds[0]);
        if (r < 0) {
                close(fds[0]);
                return r;
        }
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        *ret_peer = TAKE_FD(peer);
        return 0;
}

/* Appends one string argument per signature character from the
 * NUL-separated input; -EINVAL if the input cannot be sent (not UTF-8). */
static int append_arguments(sd_bus_message *m, const char *signature, const char *p, const char *end) {
        for (const char *t = signature; t && *t; t++) {
                const char *nul = memchr(p, 0, (size_t) (end - p));
                _cleanup_free_ char *arg = strndup(p, nul ? (size_t) (nul - p) : (size_t) (end - p));
                int r;

                /* Every method takes strings so far; a new argument type
                 * needs a way to make it from bytes here. */
                fuzz_check(*t == 's');
                if (!arg)
                        return -ENOMEM;
                r = sd_bus_message_append_basic(m, *t, arg);
                if (r < 0)
                        return r;
                p = nul ? nul + 1 : end;
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int peer = -EBADF; /* closed after the bus */
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const Method *method;
        int r;

        if (size < 1 || n_methods == 0)
                return -1;
        method = &methods[data[0] % n_methods];
        if (bus_new_unconnected(&bus, &peer) < 0)
                return 0;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_MANAGER_PATH, method->interface,
                                           method->entry->x.method.member);
        fuzz_check(r >= 0);
        r = append_arguments(m, method->entry->x.method.signature, (const char *) data + 1,
                             (const char *) data + size);
        if (r == -ENOMEM)
                return 0;
        if (r < 0)
                return -1; /* D-Bus would not carry it to us */
        /* As the bus daemon would: every call has a sender. */
        fuzz_check(sd_bus_message_set_sender(m, ":1.42") >= 0);
        fuzz_check(sd_bus_message_seal(m, 1, 0) >= 0);

        r = method->entry->x.method.handler(m, bus_object, &error);
        if (r < 0 && r != -ENOMEM) {
                if (!sd_bus_error_is_set(&error))
                        fprintf(stderr, "%s failed without a named error: %s\n",
                                method->entry->x.method.member, strerror(-r));
                fuzz_check(sd_bus_error_is_set(&error));
        }

        /* The connection drops, as when the daemon loses the bus: pending
         * polkit queries get their error reply and free what they hold. */
        peer = safe_close(peer);
        while (sd_bus_process(bus, NULL) > 0)
                ;
        return 0;
}
