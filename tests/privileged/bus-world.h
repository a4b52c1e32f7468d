/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A private system bus for the tests: a dbus-daemon with the system bus's
 * default-deny policy plus the shipped conf/org.dmwarden1.conf, listening
 * in a test directory, and $DBUS_SYSTEM_BUS_ADDRESS pointing at it for
 * this process and its children. And a recorder of dmwardend's signals. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <sys/types.h>

typedef struct TestBus {
        pid_t pid;              /* dbus-daemon */
        char address[192];
} TestBus;

/* Runs the daemon with its socket in dir (which must be reachable by the
 * users the tests switch to). */
void test_bus_start(TestBus *b, const char *dir);
void test_bus_stop(TestBus *b);
/* A client connection as the current user; NULL with errno on failure. */
sd_bus *test_bus_connect(void);

/* One line per signal from org.dmwarden1: "Member object-path detail...":
 * InterfacesAdded/InterfacesRemoved name the object, PropertiesChanged the
 * interface and each changed property, the manager's signals the device
 * name and the number of holders where they carry any. */
typedef struct SignalLog {
        char text[65536];
} SignalLog;

void signal_log_attach(sd_bus *bus, SignalLog *log);

/* The manager's ProcWalks: the walks over the processes its scans made. */
uint64_t manager_proc_walks(sd_bus *bus);
/* Processes the connection until log->text contains text; false on timeout. */
bool signal_log_wait(sd_bus *bus, SignalLog *log, const char *text, unsigned timeout_ms);
