/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus-world.h"
#include "shared/bus-api.h"

/* What Debian's system.conf says, minus what a test does not need (no
 * service activation, no user switch), with polkit's policy (root stands
 * in for polkitd) and our policy file on top. */
static const char bus_config[] =
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig>\n"
        "  <type>system</type>\n"
        "  <listen>unix:path=%s/system_bus_socket</listen>\n"
        "  <auth>EXTERNAL</auth>\n"
        "  <policy context=\"default\">\n"
        "    <allow user=\"*\"/>\n"
        "    <deny own=\"*\"/>\n"
        "    <deny send_type=\"method_call\"/>\n"
        "    <allow send_type=\"signal\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
        "    <allow receive_type=\"method_call\"/>\n"
        "    <allow receive_type=\"method_return\"/>\n"
        "    <allow receive_type=\"error\"/>\n"
        "    <allow receive_type=\"signal\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
        "  </policy>\n"
        "  <policy user=\"root\">\n"
        "    <allow own=\"org.freedesktop.PolicyKit1\"/>\n"
        "  </policy>\n"
        "  <policy context=\"default\">\n"
        "    <allow send_destination=\"org.freedesktop.PolicyKit1\"/>\n"
        "  </policy>\n"
        "  <include>%s/conf/org.dmwarden1.conf</include>\n"
        "</busconfig>\n";

void test_bus_start(TestBus *b, const char *dir) {
        const char *root = getenv("DMWARDEN_SOURCE_ROOT");
        char config[256], option[300], log[256];
        struct pollfd pfd;
        ssize_t n;
        FILE *f;
        int p[2];

        cr_assert_not_null(root, "DMWARDEN_SOURCE_ROOT is not set; run the tests through meson");
        snprintf(config, sizeof(config), "%s/bus.conf", dir);
        f = fopen(config, "we");
        cr_assert_not_null(f);
        fprintf(f, bus_config, dir, root);
        cr_assert_eq(fclose(f), 0);

        /* dbus-daemon prints its address once it listens: our readiness. */
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        b->pid = fork();
        cr_assert_geq(b->pid, 0);
        if (b->pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                int fd;

                /* Its complaints (no fd limit to raise here) go to a file. */
                snprintf(log, sizeof(log), "%s/dbus-daemon.log", dir);
                fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(p[1], 3) < 0)
                        _exit(126);
                snprintf(option, sizeof(option), "--config-file=%s", config);
                execlp("dbus-daemon", "dbus-daemon", option, "--nofork", "--nopidfile", "--print-address=3",
                       (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        pfd = (struct pollfd) { .fd = p[0], .events = POLLIN };
        cr_assert_eq(poll(&pfd, 1, 20000), 1, "dbus-daemon did not start (is the dbus-daemon package installed?)");
        n = read(p[0], b->address, sizeof(b->address) - 1);
        close(p[0]);
        cr_assert_gt(n, 0, "dbus-daemon exited without an address; see %s", config);
        b->address[n] = '\0';
        b->address[strcspn(b->address, "\n")] = '\0';
        cr_assert_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", b->address, 1), 0);
}

void test_bus_stop(TestBus *b) {
        if (b->pid <= 0)
                return;
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
        b->pid = 0;
}

sd_bus *test_bus_connect(void) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                errno = -r;
                return NULL;
        }
        return bus;
}

static void append(SignalLog *log, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void append(SignalLog *log, const char *format, ...) {
        size_t used = strlen(log->text);
        va_list ap;

        va_start(ap, format);
        vsnprintf(log->text + used, sizeof(log->text) - used, format, ap);
        va_end(ap);
}

/* PropertiesChanged: (s interface, a{sv} changed, as invalidated). */
static void log_properties_changed(SignalLog *log, sd_bus_message *m) {
        const char *interface, *name, *contents, *value;

        if (sd_bus_message_read(m, "s", &interface) < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return;
        append(log, " %s", interface);
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &name) < 0 || sd_bus_message_peek_type(m, NULL, &contents) < 0)
                        return;
                append(log, " %s", name);
                if (strcmp(contents, "s") == 0 && sd_bus_message_read(m, "v", "s", &value) >= 0)
                        append(log, "=%s", value);
                else if (sd_bus_message_skip(m, "v") < 0)
                        return;
                (void) sd_bus_message_exit_container(m);
        }
}

/* The manager's signals: (s name, o path, ...); LeakDetected then counts
 * its holders. */
static void log_device_signal(SignalLog *log, sd_bus_message *m) {
        const char *name, *path;
        unsigned n = 0;

        if (sd_bus_message_read(m, "so", &name, &path) < 0)
                return;
        append(log, " %s %s", name, path);
        if (sd_bus_message_is_signal(m, NULL, "LeakDetected") &&
            sd_bus_message_enter_container(m, 'a', "(ussttbsst)") >= 0) {
                while (sd_bus_message_skip(m, "(ussttbsst)") > 0)
                        n++;
                append(log, " holders=%u", n);
        }
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        SignalLog *log = userdata;
        const char *member = sd_bus_message_get_member(m), *object;

        append(log, "%s %s", member, sd_bus_message_get_path(m));
        if (strcmp(member, "InterfacesAdded") == 0 || strcmp(member, "InterfacesRemoved") == 0) {
                if (sd_bus_message_read(m, "o", &object) >= 0)
                        append(log, " %s", object);
        } else if (strcmp(member, "PropertiesChanged") == 0)
                log_properties_changed(log, m);
        else
                log_device_signal(log, m);
        append(log, "\n");
        return 0;
}

void signal_log_attach(sd_bus *bus, SignalLog *log) {
        log->text[0] = '\0';
        cr_assert_geq(sd_bus_match_signal(bus, NULL, "org.dmwarden1", NULL, NULL, NULL, on_signal, log), 0);
}

static unsigned long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long) ts.tv_sec * 1000UL + (unsigned long) ts.tv_nsec / 1000000UL;
}

bool signal_log_wait(sd_bus *bus, SignalLog *log, const char *text, unsigned timeout_ms) {
        unsigned long end = now_ms() + timeout_ms;

        for (;;) {
                int r = sd_bus_process(bus, NULL);
                unsigned long now;

                cr_assert_geq(r, 0, "bus connection failed: %s", strerror(-r));
                if (strstr(log->text, text))
                        return true;
                if (r > 0)
                        continue;
                now = now_ms();
                if (now >= end)
                        return false;
                (void) sd_bus_wait(bus, (uint64_t) (end - now) * 1000ULL);
        }
}

uint64_t manager_proc_walks(sd_bus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t n = 0;

        cr_assert_geq(sd_bus_get_property_trivial(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                                  "ProcWalks", &error, 't', &n),
                      0, "ProcWalks: %s", error.message);
        sd_bus_error_free(&error);
        return n;
}
