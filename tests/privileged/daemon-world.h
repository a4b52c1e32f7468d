/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A dmwardend under test: its own directory, configuration, runtime
 * directory and fake engine script, run as a child with a NOTIFY_SOCKET the
 * test reads (standing in for systemd), and torn down whatever happens. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct DaemonWorld {
        char dir[64];
        char notify_path[128];
        int notify_fd;
        pid_t pid;              /* dmwardend */
        char notes[8192];       /* every datagram dmwardend sent, in order */
        int extra_fds[2];       /* sockets to pass as LISTEN_FDS, -1 if none */
        const char *device_source;  /* --test-device-source=DIR, or NULL */
} DaemonWorld;

void world_init(DaemonWorld *w);
/* Writes dir/dmwarden.conf; "@DIR@" in text is replaced by the directory. */
void world_write_config(DaemonWorld *w, const char *text);
/* Writes an executable dir/<name>; "@DIR@" is replaced as above. */
void world_write_script(DaemonWorld *w, const char *name, const char *text);
void world_start(DaemonWorld *w);
/* Waits for dmwardend to send a notification containing text. */
bool world_wait_notify(DaemonWorld *w, const char *text, unsigned timeout_ms);
/* Waits until dir/<name> exists; returns its first line in buf. */
bool world_wait_file(DaemonWorld *w, const char *name, char *buf, size_t size, unsigned timeout_ms);
/* Waits for dmwardend's log (dir/log) to contain text. */
bool world_wait_log(DaemonWorld *w, const char *text, unsigned timeout_ms);
/* dmwardend's log so far (its first 64 KiB), for asserts and their
 * messages; valid until the next call. */
const char *world_log(const DaemonWorld *w);
/* Waits for dmwardend to exit; returns its exit status, or -1 on timeout. */
int world_wait_exit(DaemonWorld *w, unsigned timeout_ms);
/* SIGTERM to dmwardend, then world_wait_exit(). */
int world_stop(DaemonWorld *w, unsigned timeout_ms);
void world_path(const DaemonWorld *w, const char *name, char *buf, size_t size);
/* Kills whatever is left, removes pins, mounts and the directory. */
void world_destroy(DaemonWorld *w);
bool process_exists(pid_t pid);
