/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus API as its users see it: dmwardend in watch-only mode on a
 * private system bus, fed by the directory device source, asked by sd-bus
 * clients (root and nobody) and by dmwardenctl. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/escape.h"
#include "bus-world.h"
#include "bus/bus.h"
#include "ctl-run.h"
#include "daemon-world.h"
#include "loop-util.h"
#include "shared/bus-names.h"

/* Generous: everything here may run under valgrind or on a loaded machine. */
#define WAIT_MS 20000
#define NOBODY 65534

static DaemonWorld world;
static TestBus test_bus;
static TestLoop loop = { .fd = -1 };
static sd_bus *bus;
static SignalLog signals;
static char device_dir[128];
static pid_t holder = -1;

/* A description file for the directory source, written whole by rename(). */
static void write_device(const char *file, const char *name, dev_t dev, const char *extra) {
        char path[256], tmp[256];
        char *escaped = cescape(name);
        FILE *f;

        cr_assert_not_null(escaped);
        snprintf(path, sizeof(path), "%s/%s", device_dir, file);
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", device_dir, file);
        f = fopen(tmp, "we");
        cr_assert_not_null(f);
        fprintf(f, "name=%s\ndev=%u:%u\ntarget=thin\npool=pool0\n%s", escaped, major(dev), minor(dev), extra);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, path), 0);
        free(escaped);
}

static void remove_device(const char *file) {
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", device_dir, file);
        cr_assert_eq(unlink(path), 0);
}

static void setup(void) {
        char pid_file[128];
        FILE *f;

        world_init(&world);
        /* nobody must reach the bus socket in here. */
        cr_assert_eq(chmod(world.dir, 0755), 0);
        snprintf(device_dir, sizeof(device_dir), "%s/devices", world.dir);
        cr_assert_eq(mkdir(device_dir, 0755), 0);

        /* Watch-only, with this test as "the engine": its namespace is ours. */
        world_path(&world, "self.pid", pid_file, sizeof(pid_file));
        f = fopen(pid_file, "we");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", (int) getpid());
        cr_assert_eq(fclose(f), 0);
        /* The bus is watched, nothing reaped or removed: states stay put
         * long enough to be read. */
        world_write_config(&world, "[Engine]\nPIDFile=@DIR@/self.pid\n[Policy]\nAction=report\nRemove=no\n");

        /* Nobody counts their opens and nothing holds them: idle. */
        write_device("a", "thin-a", makedev(7, 250), "open_count=0\n");
        write_device("b", "thin-b", makedev(7, 251), "open_count=0\n");

        test_bus_start(&test_bus, world.dir);
        world.device_source = device_dir;
        world_start(&world);
        cr_assert(world_wait_notify(&world, "READY=1", WAIT_MS), "dmwardend never became ready:\n%s", world.notes);

        bus = test_bus_connect();
        cr_assert_not_null(bus, "cannot connect to the test bus: %s", strerror(errno));
        signal_log_attach(bus, &signals);
}

static void teardown(void) {
        if (holder > 0) {
                kill(holder, SIGKILL);
                waitpid(holder, NULL, 0);
                holder = -1;
        }
        bus = sd_bus_flush_close_unref(bus);
        world_destroy(&world);
        test_bus_stop(&test_bus);
        test_loop_release(&loop);
}

TestSuite(bus, .init = setup, .fini = teardown, .timeout = 120);

static char *device_path(const char *name) {
        char *path = NULL;

        cr_assert_eq(bus_device_path(name, &path), 0);
        return path;
}

/* The message of the last error call_manager() returned. */
static char call_manager_message[512];

/* Calls a Manager method; returns 0 or the error's name (static). */
static const char *call_manager(sd_bus *b, const char *method, sd_bus_message **reply, const char *types, ...) {
        static char name[256];
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        cr_assert_geq(sd_bus_message_new_method_call(b, &m, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                                     method), 0);
        va_start(ap, types);
        if (types)
                cr_assert_geq(sd_bus_message_appendv(m, types, ap), 0);
        va_end(ap);
        r = sd_bus_call(b, m, 0, &error, reply);
        sd_bus_message_unref(m);
        if (r >= 0)
                return NULL;
        snprintf(name, sizeof(name), "%s", error.name ?: "?");
        snprintf(call_manager_message, sizeof(call_manager_message), "%s", error.message ?: "");
        sd_bus_error_free(&error);
        return name;
}

#define assert_error(got, want) \
        cr_assert((got) && strcmp((got), (want)) == 0, "expected %s, got %s", (want), (got) ?: "success")

static char *get_string(const char *path, const char *interface, const char *property) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *value = NULL;
        int r;

        r = sd_bus_get_property_string(bus, BUS_NAME, path, interface, property, &error, &value);
        cr_assert_geq(r, 0, "%s %s: %s", path, property, error.message);
        return value;
}

static uint32_t get_u32(const char *path, const char *interface, const char *property) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint32_t value = 0;
        int r;

        r = sd_bus_get_property_trivial(bus, BUS_NAME, path, interface, property, &error, 'u', &value);
        cr_assert_geq(r, 0, "%s %s: %s", path, property, error.message);
        return value;
}

static char *introspect(const char *path) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *xml;
        char *copy;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, path, "org.freedesktop.DBus.Introspectable", "Introspect", &error,
                               &reply, NULL);
        cr_assert_geq(r, 0, "Introspect %s: %s", path, error.message);
        cr_assert_geq(sd_bus_message_read(reply, "s", &xml), 0);
        copy = strdup(xml);
        sd_bus_message_unref(reply);
        return copy;
}

/* The <property> element for name, up to its end. */
static char *property_xml(const char *xml, const char *name) {
        char start[128];
        const char *p, *end;

        snprintf(start, sizeof(start), "<property name=\"%s\"", name);
        p = strstr(xml, start);
        cr_assert_not_null(p, "no property %s in\n%s", name, xml);
        end = strstr(p, "</property>");
        cr_assert_not_null(end, "property %s has no end in\n%s", name, xml);
        return strndup(p, (size_t) (end - p));
}

static void assert_property_flag(const char *xml, const char *name, const char *flag) {
        char *element = property_xml(xml, name);

        if (flag)
                cr_assert(strstr(element, flag), "%s should say %s: %s", name, flag, element);
        else
                cr_assert_null(strstr(element, "EmitsChangedSignal"), "%s emits changes: %s", name, element);
        free(element);
}

Test(bus, introspection_tells_the_truth) {
        static const char *const manager_members[] = {
                "<method name=\"ListDevices\"", "<method name=\"GetDevice\"", "<method name=\"ListHolders\"",
                "<method name=\"Scan\"", "<method name=\"Reap\"", "<method name=\"Remove\"",
                "<method name=\"Reload\"", "<signal name=\"LeakDetected\"", "<signal name=\"HolderReaped\"",
                "<signal name=\"DeviceReleased\"", "<signal name=\"DeviceRemoved\"",
                "<interface name=\"org.freedesktop.DBus.ObjectManager\"",
        };
        static const char *const manager_properties[] = {
                "Version", "EngineState", "EnginePID", "EngineNamespace", "EngineNamespacePath", "Propagation",
                "DefaultAction", "WatchedDevices", "LeakedDevices", "HoldersReaped", "DevicesRemoved",
                "LastScanUSec", "LastScanDurationUSec", "ProcWalks", "ProcessWalk", "ProcessWalkUnavailable",
                "LeakedBytes", "Pools",
        };
        static const char *const device_properties[] = {
                "Name", "UUID", "Major", "Minor", "Target", "Pool", "OpenCount", "State", "Holders",
                "LeakedSinceUSec", "LastAction", "MappedBytes",
        };
        char *manager = introspect(BUS_MANAGER_PATH), *path = device_path("thin-a");
        char *device = introspect(path), *tree = introspect(BUS_DEVICE_PATH_PREFIX);

        cr_assert(strstr(manager, "<interface name=\"" BUS_MANAGER_INTERFACE "\""));
        for (size_t i = 0; i < sizeof(manager_members) / sizeof(manager_members[0]); i++)
                cr_assert(strstr(manager, manager_members[i]), "no %s in\n%s", manager_members[i], manager);
        for (size_t i = 0; i < sizeof(manager_properties) / sizeof(manager_properties[0]); i++)
                free(property_xml(manager, manager_properties[i]));
        cr_assert(strstr(manager, "type=\"a(ussttbsst)\""), "no holder rows in\n%s", manager);
        assert_property_flag(manager, "Version", "const");
        assert_property_flag(manager, "WatchedDevices", NULL);
        assert_property_flag(manager, "LastScanUSec", "\"false\"");
        assert_property_flag(manager, "ProcessWalk", "\"false\"");
        assert_property_flag(manager, "ProcessWalkUnavailable", "const");

        cr_assert(strstr(device, "<interface name=\"" BUS_DEVICE_INTERFACE "\""), "%s", device);
        for (size_t i = 0; i < sizeof(device_properties) / sizeof(device_properties[0]); i++)
                free(property_xml(device, device_properties[i]));
        assert_property_flag(device, "Name", "const");
        assert_property_flag(device, "Major", "const");
        assert_property_flag(device, "State", NULL);
        assert_property_flag(device, "Holders", NULL);

        cr_assert(strstr(tree, "<node name=\"thin_2da\""), "the device tree lacks thin-a:\n%s", tree);
        cr_assert(strstr(tree, "<node name=\"thin_2db\""), "the device tree lacks thin-b:\n%s", tree);
        free(manager);
        free(device);
        free(tree);
        free(path);
}

/* "path name state\n" for every device object GetManagedObjects lists. */
static char *managed_devices(void) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path, *interface, *property, *value;
        char *text = NULL, name[256], state[32];
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        cr_assert_geq(r, 0, "GetManagedObjects: %s", error.message);
        cr_assert_geq(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                cr_assert_geq(sd_bus_message_read(reply, "o", &path), 0);
                cr_assert_geq(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}"), 0);
                name[0] = state[0] = '\0';
                while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
                        cr_assert_geq(sd_bus_message_read(reply, "s", &interface), 0);
                        cr_assert_geq(sd_bus_message_enter_container(reply, 'a', "{sv}"), 0);
                        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                                cr_assert_geq(sd_bus_message_read(reply, "s", &property), 0);
                                if (strcmp(interface, BUS_DEVICE_INTERFACE) == 0 &&
                                    (strcmp(property, "Name") == 0 || strcmp(property, "State") == 0)) {
                                        cr_assert_geq(sd_bus_message_read(reply, "v", "s", &value), 0);
                                        snprintf(property[0] == 'N' ? name : state, property[0] == 'N' ? sizeof(name) : sizeof(state), "%s", value);
                                } else
                                        cr_assert_geq(sd_bus_message_skip(reply, "v"), 0);
                                cr_assert_geq(sd_bus_message_exit_container(reply), 0);
                        }
                        cr_assert_geq(sd_bus_message_exit_container(reply), 0);
                        cr_assert_geq(sd_bus_message_exit_container(reply), 0);
                }
                cr_assert_geq(sd_bus_message_exit_container(reply), 0);
                cr_assert_geq(sd_bus_message_exit_container(reply), 0);
                if (name[0])
                        fprintf(f, "%s %s %s\n", path, name, state);
        }
        sd_bus_message_unref(reply);
        fclose(f);
        return text;
}

Test(bus, object_manager_lists_the_devices) {
        char *text = managed_devices();

        cr_assert_str_eq(text,
                         "/org/dmwarden1/device/thin_2da thin-a idle\n"
                         "/org/dmwarden1/device/thin_2db thin-b idle\n",
                         "GetManagedObjects said:\n%s", text);
        cr_assert_eq(get_u32(BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WatchedDevices"), 2);
        free(text);
}

Test(bus, devices_come_change_and_go_with_signals) {
        char *path = device_path("thin-c"), expect[512], *pool;
        sd_bus_message *reply = NULL;
        const char *got;

        write_device("c", "thin-c", makedev(7, 252), "open_count=0\n");
        snprintf(expect, sizeof(expect), "InterfacesAdded %s %s\n", BUS_MANAGER_PATH, path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no InterfacesAdded:\n%s", signals.text);
        cr_assert(signal_log_wait(bus, &signals, "org.dmwarden1.Manager WatchedDevices", WAIT_MS), "%s",
                  signals.text);
        cr_assert_null(call_manager(bus, "GetDevice", &reply, "s", "thin-c"));
        cr_assert_geq(sd_bus_message_read(reply, "o", &got), 0);
        cr_assert_str_eq(got, path);
        reply = sd_bus_message_unref(reply);

        write_device("c", "thin-c", makedev(7, 252), "open_count=0\nuuid=LVM-thin-c\n");
        snprintf(expect, sizeof(expect), "PropertiesChanged %s " BUS_DEVICE_INTERFACE " UUID=LVM-thin-c ", path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no PropertiesChanged:\n%s", signals.text);
        pool = get_string(path, BUS_DEVICE_INTERFACE, "UUID");
        cr_assert_str_eq(pool, "LVM-thin-c");
        free(pool);

        remove_device("c");
        snprintf(expect, sizeof(expect), "InterfacesRemoved %s %s\n", BUS_MANAGER_PATH, path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no InterfacesRemoved:\n%s", signals.text);
        snprintf(expect, sizeof(expect), "DeviceRemoved %s thin-c %s\n", BUS_MANAGER_PATH, path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no DeviceRemoved:\n%s", signals.text);
        assert_error(call_manager(bus, "GetDevice", NULL, "s", "thin-c"), "org.dmwarden1.Error.NoSuchDevice");
        cr_assert_eq(get_u32(BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WatchedDevices"), 2);
        free(path);
}

Test(bus, bad_calls_get_named_errors_and_the_daemon_goes_on) {
        char too_long[200];
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *value = NULL;

        memset(too_long, 'x', sizeof(too_long) - 1);
        too_long[sizeof(too_long) - 1] = '\0';
        assert_error(call_manager(bus, "GetDevice", NULL, "s", "nope"), "org.dmwarden1.Error.NoSuchDevice");
        assert_error(call_manager(bus, "ListHolders", NULL, "s", "nope"), "org.dmwarden1.Error.NoSuchDevice");
        assert_error(call_manager(bus, "Remove", NULL, "s", "nope"), "org.dmwarden1.Error.NoSuchDevice");
        assert_error(call_manager(bus, "Reap", NULL, "ss", "nope", "kill"), "org.dmwarden1.Error.NoSuchDevice");
        assert_error(call_manager(bus, "GetDevice", NULL, "s", ""), "org.dmwarden1.Error.InvalidName");
        assert_error(call_manager(bus, "GetDevice", NULL, "s", too_long), "org.dmwarden1.Error.InvalidName");
        assert_error(call_manager(bus, "Reap", NULL, "ss", "thin-a", "nuke"), "org.dmwarden1.Error.InvalidAction");
        assert_error(call_manager(bus, "Reap", NULL, "ss", "thin-a", ""), "org.dmwarden1.Error.InvalidAction");

        /* Wrong signatures, members and properties: sd-bus's own names. */
        assert_error(call_manager(bus, "GetDevice", NULL, "u", 7), SD_BUS_ERROR_INVALID_ARGS);
        assert_error(call_manager(bus, "Reap", NULL, "s", "thin-a"), SD_BUS_ERROR_INVALID_ARGS);
        assert_error(call_manager(bus, "GetDevice", NULL, "ss", "thin-a", "x"), SD_BUS_ERROR_INVALID_ARGS);
        assert_error(call_manager(bus, "ListDevices", NULL, "s", "x"), SD_BUS_ERROR_INVALID_ARGS);
        assert_error(call_manager(bus, "Explode", NULL, NULL), SD_BUS_ERROR_UNKNOWN_METHOD);
        cr_assert_lt(sd_bus_get_property_string(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Nope",
                                                &error, &value), 0);
        cr_assert(sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_PROPERTY), "%s", error.name);
        sd_bus_error_free(&error);
        cr_assert_lt(sd_bus_set_property(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Version", &error,
                                         "s", "9"), 0);
        cr_assert(sd_bus_error_is_set(&error));
        sd_bus_error_free(&error);
        cr_assert_lt(sd_bus_get_property_string(bus, BUS_NAME, BUS_DEVICE_PATH_PREFIX "/_61", BUS_DEVICE_INTERFACE,
                                                "Name", &error, &value), 0, "a path we never hand out answered");
        sd_bus_error_free(&error);

        cr_assert_null(call_manager(bus, "ListDevices", &reply, NULL), "the daemon stopped serving");
        sd_bus_message_unref(reply);
        cr_assert(process_exists(world.pid));
}

Test(bus, root_may_manage) {
        const char *e;

        cr_assert_null(call_manager(bus, "Scan", NULL, NULL));
        cr_assert_null(call_manager(bus, "Reload", NULL, NULL));
        /* Whatever the actions do, root is let through to them. */
        e = call_manager(bus, "Reap", NULL, "ss", "thin-a", "report");
        cr_assert(!e || strcmp(e, SD_BUS_ERROR_ACCESS_DENIED) != 0);
        e = call_manager(bus, "Remove", NULL, "s", "thin-a");
        cr_assert(!e || strcmp(e, SD_BUS_ERROR_ACCESS_DENIED) != 0);
}

static bool denied_for(const char *error, const char *action_id) {
        return error && strcmp(error, SD_BUS_ERROR_ACCESS_DENIED) == 0 &&
               strstr(call_manager_message, action_id);
}

/* In a child that became nobody: the checks in order; the exit status is
 * the number of the first that failed. */
static int nobody_checks(void) {
        sd_bus_message *reply = NULL;
        sd_bus *b;
        const char *e;
        uint32_t n = 0;

        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
                return 1;
        b = test_bus_connect();
        if (!b)
                return 2;
        if (sd_bus_get_property_trivial(b, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WatchedDevices", NULL,
                                        'u', &n) < 0 || n != 2)
                return 3;
        if (call_manager(b, "ListDevices", &reply, NULL))
                return 4;
        reply = sd_bus_message_unref(reply);
        if (sd_bus_call_method(b, BUS_NAME, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", NULL, NULL, NULL) < 0)
                return 5;
        if (call_manager(b, "ListHolders", NULL, "s", "thin-a"))
                return 6;
        /* Each denied, naming the polkit action that would allow it: the
         * harmless one for a rescan or reload, the other for what kills or
         * removes. */
        e = call_manager(b, "Scan", NULL, NULL);
        if (!denied_for(e, "org.dmwarden1.refresh"))
                return 7;
        e = call_manager(b, "Reload", NULL, NULL);
        if (!denied_for(e, "org.dmwarden1.refresh"))
                return 8;
        e = call_manager(b, "Reap", NULL, "ss", "thin-a", "detach");
        if (!denied_for(e, "org.dmwarden1.reap"))
                return 9;
        e = call_manager(b, "Remove", NULL, "s", "thin-a");
        if (!denied_for(e, "org.dmwarden1.reap"))
                return 10;
        sd_bus_flush_close_unref(b);
        return 0;
}

Test(bus, others_may_read_but_not_manage) {
        static const char *const checks[] = {
                "ok", "becoming nobody", "connecting", "reading WatchedDevices", "ListDevices",
                "GetManagedObjects", "ListHolders", "Scan denied", "Reload denied", "Reap denied", "Remove denied",
        };
        int status;
        pid_t pid;

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                _exit(nobody_checks());
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        cr_assert_eq(WEXITSTATUS(status), 0, "as nobody, failed: %s",
                     WEXITSTATUS(status) < 11 ? checks[WEXITSTATUS(status)] : "?");
        cr_assert(process_exists(world.pid));
}

static int note_polkit_question(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        bool *asked = userdata;

        (void) error;
        if (!sd_bus_message_is_method_call(m, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization"))
                return 0;
        *asked = true;
        return 1;  /* and never answered */
}

/* A polkit that never answers: the question is still open when dmwardend
 * stops; it goes with the daemon, and the caller is told why. */
Test(bus, a_question_polkit_never_answers_is_denied_at_exit) {
        sd_bus *polkit = test_bus_connect();
        bool asked = false;
        char answer[256] = "";
        int status, p[2];
        pid_t pid;

        cr_assert_not_null(polkit);
        cr_assert_geq(sd_bus_request_name(polkit, "org.freedesktop.PolicyKit1", 0), 0);
        cr_assert_geq(sd_bus_add_filter(polkit, NULL, note_polkit_question, &asked), 0);

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus *b;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(1);
                b = test_bus_connect();
                if (!b)
                        _exit(2);
                (void) sd_bus_call_method(b, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Scan", &error,
                                          NULL, NULL);
                dprintf(p[1], "%s: %s", strna(error.name), strna(error.message));
                _exit(0);
        }
        close(p[1]);
        for (unsigned t = 0; !asked && t < WAIT_MS; t += 100)
                if (sd_bus_process(polkit, NULL) == 0)
                        (void) sd_bus_wait(polkit, 100 * 1000);
        if (!asked)
                (void) kill(pid, SIGKILL);
        cr_assert(asked, "dmwardend never asked polkit");

        cr_assert_eq(world_stop(&world, WAIT_MS), 0, "dmwardend did not stop cleanly:\n%s", world_log(&world));
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the caller failed before calling");
        cr_assert_geq(read(p[0], answer, sizeof(answer) - 1), 0);
        close(p[0]);
        cr_assert(strstr(answer, SD_BUS_ERROR_ACCESS_DENIED ": ") &&
                  strstr(answer, "dmwardend stopped before polkit answered"), "the caller was told: %s", answer);
        sd_bus_flush_close_unref(polkit);
}

Test(bus, dmwardenctl_scan_as_root_names_what_it_found) {
        char *out = NULL, *json = NULL, *gone = NULL, *err = NULL, *summary = NULL, *quiet = NULL;

        cr_assert_eq(RUN_CTL_ERR(0, &out, &summary, "scan"), 0);
        cr_assert(strstr(summary, "Scanned 2 watched devices in ") && strstr(summary, ": 0 leaked."),
                  "scan said:\n%s", summary);
        cr_assert_str_empty(out, "no device is held: no rows");
        cr_assert_eq(RUN_CTL_ERR(0, &json, &quiet, "scan", "--json", "-n"), 0);
        cr_assert(json_check(json, "d == {\"devices\": []}"), "%s", json);
        cr_assert_str_empty(quiet, "-n: no summary");

        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert_eq(RUN_CTL_ERR(0, &gone, &err, "scan"), 3, "no daemon: exit status 3");
        cr_assert(strstr(err, "dmwardend is not running"), "%s", err);
        free(out);
        free(json);
        free(gone);
        free(err);
        free(summary);
        free(quiet);
}

Test(bus, dmwardenctl_managing_as_nobody_is_not_allowed) {
        const char *const commands[][4] = { { "scan" }, { "reap", "thin-a", "--action=report" }, { "remove", "thin-a" } };

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                char *out = NULL, *err = NULL;

                cr_assert_eq(run_ctl_err(NOBODY, &out, &err, commands[i]), 4, "%s as nobody: %s", commands[i][0],
                             err);
                cr_assert(strstr(err, "Not allowed to "), "%s as nobody said: %s", commands[i][0], err);
                free(out);
                free(err);
        }
        cr_assert(process_exists(world.pid));
}

Test(bus, dmwardenctl_on_an_unknown_device_says_no_such_device) {
        const char *const commands[][4] = {
                { "reap", "nope", "--action=kill" }, { "reap", "nope" }, { "remove", "nope" }, { "holders", "nope" },
        };

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                char *out = NULL, *err = NULL;

                cr_assert_eq(run_ctl_err(0, &out, &err, commands[i]), 5, "%s nope: %s", commands[i][0], err);
                cr_assert(strstr(err, "nope"), "%s nope said: %s", commands[i][0], err);
                free(out);
                free(err);
        }
}

/* With the daemon there, a mistake in the input is still named as one. */
Test(bus, dmwardenctl_blames_the_input_not_the_daemon) {
        _cleanup_free_ char *out = NULL, *err = NULL, *full_out = NULL, *full_err = NULL;

        cr_assert_eq(RUN_CTL_ERR(0, &out, &err, "holders", "7:0x"), 2, "%s", err);
        cr_assert(strstr(err, "7:0x: not MAJOR:MINOR"), "%s", err);
        cr_assert_null(strstr(err, "not running"), "%s", err);

        /* A scan here of a name that is not a device here (the daemon's
         * devices are only descriptions in this suite). */
        cr_assert_eq(RUN_CTL_ERR(0, &full_out, &full_err, "holders", "thin-a", "--full"), 5, "%s", full_err);
        cr_assert(strstr(full_err, "thin-a: no such file in /dev/mapper or /dev"), "%s", full_err);
        cr_assert_null(strstr(full_err, "not running"), "%s", full_err);
        cr_assert(process_exists(world.pid));
}

/* remove -J: one document, whatever the daemon made of the request (thin-a
 * is no real device here, so the daemon may refuse). */
Test(bus, dmwardenctl_remove_json_is_one_document) {
        _cleanup_free_ char *json = NULL, *err = NULL;
        int status;

        status = RUN_CTL_ERR(0, &json, &err, "remove", "thin-a", "-J");
        if (status != 0) {
                cr_assert_eq(status, 1, "%s", err);
                cr_assert(strstr(err, "Cannot remove the device: ") || strstr(err, "Failed to remove the device: "),
                          "%s", err);
                cr_assert_str_empty(json);
                return;
        }
        cr_assert(json_check(json, "[(a[\"name\"], a[\"action\"]) for a in d[\"actions\"]] == [(\"thin-a\", \"remove\")] "
                                   "and d[\"actions\"][0][\"state\"]"), "%s", json);
}

Test(bus, dmwardenctl_reap_refuses_a_bad_action_before_asking) {
        char *out = NULL, *err = NULL, *good = NULL, *why = NULL;
        int status;

        cr_assert_eq(RUN_CTL_ERR(0, &out, &err, "reap", "thin-a", "--action=nuke"), 2);
        cr_assert(strstr(err, "Unknown action \"nuke\"; use one of report, detach, restart-unit or kill."), "%s",
                  err);
        cr_assert_str_empty(out);
        /* A good action reaches the daemon, which acts or says why not. */
        status = RUN_CTL_ERR(0, &good, &why, "reap", "thin-a", "--action=report");
        cr_assert(status == 0 ? strstr(good, "thin-a: report done; now ") != NULL
                              : status == 1 && (strstr(why, "Cannot reap the holders: ") != NULL ||
                                                 strstr(why, "is idle, not leaked: nothing to reap") != NULL),
                  "reap --action=report: status %d, said %s%s", status, good, why);
        free(out);
        free(err);
        free(good);
        free(why);
}

Test(bus, hostile_names_reach_the_bus_intact) {
        char longest[DEVICE_NAME_MAX + 1], file[16], expect[512];
        const char *names[] = { "with space", "a/b", "gr\xc3\xbc\xc3\x9f", "under_score", "bad\x80\xff", longest };

        memset(longest, 'y', DEVICE_NAME_MAX);
        longest[DEVICE_NAME_MAX] = '\0';
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(file, sizeof(file), "h%zu", i);
                write_device(file, names[i], makedev(7, 200 + (unsigned) i), "open_count=0\n");
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char *path = device_path(names[i]), *text = NULL, *name;
                sd_bus_message *reply = NULL;
                const char *got;

                snprintf(expect, sizeof(expect), "InterfacesAdded %s %s\n", BUS_MANAGER_PATH, path);
                cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "%s never came:\n%s", path, signals.text);
                cr_assert_eq(bus_string_from_kernel(names[i], &text), 0);
                cr_assert_null(call_manager(bus, "GetDevice", &reply, "s", text), "GetDevice(%s)", text);
                cr_assert_geq(sd_bus_message_read(reply, "o", &got), 0);
                cr_assert_str_eq(got, path);
                sd_bus_message_unref(reply);
                name = get_string(path, BUS_DEVICE_INTERFACE, "Name");
                cr_assert_str_eq(name, text);
                free(name);
                free(text);
                free(path);
        }
}

/* The table's summary line names the device as the cells do: a newline in a
 * name must not break the line. */
Test(bus, dmwardenctl_holders_escapes_the_name_in_its_summary) {
        char expect[512], *out = NULL, *err = NULL;

        write_device("nl", "new\nline", makedev(7, 220), "open_count=0\n");
        snprintf(expect, sizeof(expect), "InterfacesAdded %s %s\n", BUS_MANAGER_PATH, "/org/dmwarden1/device/new_0aline");
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "new\\nline never came:\n%s", signals.text);
        cr_assert_eq(RUN_CTL_ERR(0, &out, &err, "holders", "new\nline"), 0);
        cr_assert(strstr(err, "0 references to new\\nline outside the engine's namespace"), "said:\n%s", err);
        cr_assert_null(strstr(err, "new\nline"), "a raw newline in:\n%s", err);
        free(out);
        free(err);
}

/* A holder in a namespace of its own: the leak as the design describes it,
 * minus the engine (the test's namespace stands in for the engine's). */
static pid_t spawn_holder(const char *mount_point) {
        int p[2];
        pid_t pid;
        char c;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
                    mount(loop.node, mount_point, "ext4", 0, NULL) < 0 || write(p[1], "r", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the holder could not mount %s", loop.node);
        close(p[0]);
        return pid;
}

Test(bus, a_leak_is_reported_with_its_holders_until_released) {
        char mount_point[128], expect[512], *path = device_path("thin-leak"), *state, *table = NULL, pid_text[16];
        sd_bus_message *reply = NULL;
        bool found = false;
        uint32_t pid;
        const char *comm, *unit, *kind, *where;
        uint64_t mntns, mount_id, tid;
        int root_member;

        test_loop_new(&loop, 16);
        world_path(&world, "mnt", mount_point, sizeof(mount_point));
        cr_assert_eq(mkdir(mount_point, 0755), 0);
        holder = spawn_holder(mount_point);
        /* Our fd on the node would be a reference from "the engine's"
         * namespace; the holder's mount keeps the loop device now. */
        close(loop.fd);
        loop.fd = -1;

        /* Flagged for deferred removal: the engine let it go (a device the
         * engine never used is no leak, whoever holds it). */
        write_device("leak", "thin-leak", loop.devnum, "deferred_remove=1\n");
        snprintf(expect, sizeof(expect), "LeakDetected %s thin-leak %s holders=", BUS_MANAGER_PATH, path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no LeakDetected:\n%s", signals.text);
        state = get_string(path, BUS_DEVICE_INTERFACE, "State");
        /* Action=report tells and then calls the leak stuck. */
        cr_assert(strcmp(state, "leaked") == 0 || strcmp(state, "stuck") == 0, "state %s", state);
        free(state);
        cr_assert_eq(get_u32(BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "LeakedDevices"), 1);

        cr_assert_null(call_manager(bus, "ListHolders", &reply, "s", "thin-leak"));
        cr_assert_geq(sd_bus_message_enter_container(reply, 'a', "(ussttbsst)"), 0);
        while (sd_bus_message_read(reply, "(ussttbsst)", &pid, &comm, &unit, &mntns, &mount_id, &root_member, &kind,
                                   &where, &tid) > 0)
                if (pid == (uint32_t) holder && strcmp(kind, "mount") == 0 && strcmp(where, mount_point) == 0) {
                        found = true;
                        cr_assert(root_member);
                        cr_assert_neq(mntns, 0);
                        cr_assert_neq(mount_id, 0, "the mount's id is not shown");
                        cr_assert_eq(tid, 0, "a whole process holds it");
                }
        sd_bus_message_unref(reply);
        cr_assert(found, "ListHolders does not name holder %d with its mount on %s", (int) holder, mount_point);

        snprintf(pid_text, sizeof(pid_text), "%d", (int) holder);
        cr_assert_eq(RUN_CTL(0, &table, "holders", "thin-leak"), 0);
        cr_assert(strstr(table, pid_text) && strstr(table, mount_point), "dmwardenctl holders said:\n%s", table);
        free(table);

        kill(holder, SIGKILL);
        waitpid(holder, NULL, 0);
        holder = -1;
        snprintf(expect, sizeof(expect), "DeviceReleased %s thin-leak %s\n", BUS_MANAGER_PATH, path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no DeviceReleased:\n%s", signals.text);
        state = get_string(path, BUS_DEVICE_INTERFACE, "State");
        cr_assert_str_eq(state, "released");
        free(state);
        free(path);
}

/* holders -J is one document whoever answers: dmwardend from its last scan,
 * or a scan here once it is gone, on the same holder. */
Test(bus, dmwardenctl_holders_reads_the_same_from_the_daemon_and_here) {
        _cleanup_free_ char *path = device_path("thin-same"), *daemon_json = NULL, *daemon_err = NULL;
        _cleanup_free_ char *here_json = NULL, *here_err = NULL, *reap_json = NULL, *reap_err = NULL;
        char mount_point[128], expect[512];

        test_loop_new(&loop, 16);
        world_path(&world, "mnt", mount_point, sizeof(mount_point));
        cr_assert_eq(mkdir(mount_point, 0755), 0);
        holder = spawn_holder(mount_point);
        close(loop.fd);
        loop.fd = -1;
        write_device("same", "thin-same", loop.devnum, "deferred_remove=1\n");
        snprintf(expect, sizeof(expect), "LeakDetected %s thin-same %s holders=", BUS_MANAGER_PATH, path);
        cr_assert(signal_log_wait(bus, &signals, expect, WAIT_MS), "no LeakDetected:\n%s", signals.text);

        cr_assert_eq(RUN_CTL_ERR(0, &daemon_json, &daemon_err, "holders", loop.node, "-J"), 0, "%s", daemon_err);
        cr_assert(strstr(daemon_err, "at dmwardend's last scan"), "the daemon did not answer: %s", daemon_err);
        snprintf(expect, sizeof(expect),
                 "(%d, \"mount\", \"%s\", True, True) in [(h[\"pid\"], h[\"kind\"], h[\"path\"], "
                 "h[\"root-member\"], (h[\"mount-id\"] or 0) > 0) for h in d[\"holders\"]]",
                 (int) holder, mount_point);
        cr_assert(json_check(daemon_json, expect), "the daemon's answer: %s", daemon_json);
        cr_assert_eq(RUN_CTL_ERR(0, &reap_json, &reap_err, "reap", "thin-same", "--action=report", "-J"), 0, "%s",
                     reap_err);
        cr_assert(json_check(reap_json, "[(a[\"name\"], a[\"action\"]) for a in d[\"actions\"]] == "
                                        "[(\"thin-same\", \"report\")] and d[\"actions\"][0][\"state\"]"),
                  "reap -J said: %s", reap_json);

        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert_eq(RUN_CTL_ERR(0, &here_json, &here_err, "holders", loop.node, "-J"), 0, "%s", here_err);
        cr_assert(strstr(here_err, "Scanned "), "no scan here: %s", here_err);
        cr_assert_str_eq(here_json, daemon_json, "a scan here and the daemon disagree");
}

Test(bus, dmwardenctl_agrees_with_the_bus) {
        _cleanup_free_ char *list_err = NULL, *table_err = NULL, *human = NULL;
        const char *watched_line;
        char *status = NULL, *list = NULL, *json = NULL, *table = NULL, *mine = NULL, *none = NULL, *gone = NULL;
        char expect[64];

        snprintf(expect, sizeof(expect), "d[\"status\"][0][\"watched\"] == %u",
                 get_u32(BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WatchedDevices"));
        cr_assert_eq(RUN_CTL(0, &status, "status", "--json"), 0);
        cr_assert(json_check(status, expect), "status --json said %s", status);
        cr_assert(json_check(status, "d[\"status\"][0][\"engine\"] == \"none\" and d[\"status\"][0][\"engine-pid\"] > 0"),
                  "%s", status);
        cr_assert(json_check(status, "d[\"status\"][0][\"pools\"] is None and d[\"status\"][0][\"leaked-bytes\"] == 0"),
                  "no pools (a directory source), nothing leaked: %s", status);

        cr_assert_eq(RUN_CTL(0, &json, "list", "-J"), 0);
        cr_assert(json_check(json, "[(x[\"name\"], x[\"path\"], x[\"state\"], x[\"maj:min\"], x[\"open\"]) for x in "
                                   "d[\"devices\"]] == [(\"thin-a\", \"/org/dmwarden1/device/thin_2da\", \"idle\", "
                                   "\"7:250\", 0), (\"thin-b\", \"/org/dmwarden1/device/thin_2db\", \"idle\", \"7:251\", 0)]"),
                  "%s", json);
        cr_assert(json_check(json, "[x[\"mapped\"] for x in d[\"devices\"]] == [None, None]"),
                  "no status line: mapped bytes unknown; %s", json);

        cr_assert_eq(RUN_CTL_ERR(NOBODY, &list, &list_err, "list"), 0, "reading is open to everyone");
        cr_assert(strstr(list, "thin-a") && strstr(list, "thin-b") && strstr(list_err, "2 devices listed"), "%s%s",
                  list, list_err);
        cr_assert_eq(RUN_CTL(NOBODY, &mine, "status", "-n", "-o", "watched,LEAKED"), 0);
        cr_assert_str_eq(mine, "2\n0\n");
        /* For people: a line a column, "COLUMN value". */
        cr_assert_eq(RUN_CTL(NOBODY, &human, "status"), 0);
        cr_assert(strncmp(human, "VERSION ", 8) == 0, "%s", human);
        watched_line = strstr(human, "\nWATCHED ");
        cr_assert(watched_line && strncmp(watched_line + 9 + strspn(watched_line + 9, " "), "2\n", 2) == 0, "%s",
                  human);
        cr_assert_eq(RUN_CTL_ERR(0, &table, &table_err, "holders", "thin-a"), 0);
        cr_assert(strstr(table_err, "0 references to thin-a"), "%s", table_err);
        cr_assert_eq(RUN_CTL(0, &none, "holders", "nope"), 5, "an unknown device has its own status");

        cr_assert_eq(world_stop(&world, WAIT_MS), 0);
        cr_assert_eq(RUN_CTL(0, &gone, "status"), 3, "no daemon: exit status 3");
        free(status);
        free(list);
        free(json);
        free(table);
        free(mine);
        free(none);
        free(gone);
}

#define N_HELD 4

/* Devices held by mounts in a namespace of their own, each mounted once
 * and opened by nothing else, so the mounts explain their open counts: a
 * Scan() of them all walks /proc once, not once a device. */
Test(bus, one_walk_over_proc_serves_every_device_of_a_pass) {
        TestLoop held[N_HELD];
        char mount_point[128], file[16], name[32], *out = NULL;
        uint64_t before, after;
        int p[2];
        char c;

        world_path(&world, "held", mount_point, sizeof(mount_point));
        cr_assert_eq(mkdir(mount_point, 0755), 0);
        for (unsigned i = 0; i < N_HELD; i++)
                test_loop_new(&held[i], 16);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        holder = fork();
        cr_assert_geq(holder, 0);
        if (holder == 0) {
                char dir[160];

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                        _exit(1);
                for (unsigned i = 0; i < N_HELD; i++) {
                        snprintf(dir, sizeof(dir), "%s/%u", mount_point, i);
                        if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
                            mount(held[i].node, dir, "ext4", 0, NULL) < 0)
                                _exit(2);
                }
                if (write(p[1], "r", 1) != 1)
                        _exit(3);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "the holder could not mount the devices");
        close(p[0]);
        for (unsigned i = 0; i < N_HELD; i++) {
                test_loop_release(&held[i]);  /* the mount holds each now */
                snprintf(file, sizeof(file), "h%u", i);
                snprintf(name, sizeof(name), "thin-held-%u", i);
                write_device(file, name, held[i].devnum, "open_count=1\n");
        }
        for (unsigned t = 0; get_u32(BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WatchedDevices") < 2 + N_HELD; t++) {
                cr_assert_lt(t, WAIT_MS / 50, "the devices were not all watched");
                usleep(50 * 1000);
        }
        /* Whatever their arrival queued is over once a Scan() returns. */
        cr_assert_eq(RUN_CTL(0, &out, "scan"), 0);
        free(out);

        before = manager_proc_walks(bus);
        cr_assert_null(call_manager(bus, "Scan", NULL, NULL));
        after = manager_proc_walks(bus);
        cr_assert_eq(after - before, 1, "a Scan() of %u held devices walked /proc %llu times", N_HELD,
                     (unsigned long long) (after - before));
}
