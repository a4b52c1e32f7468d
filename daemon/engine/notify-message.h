/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sd_notify() protocol as the engine speaks it to us: newline-separated
 * KEY=VALUE assignments in one datagram. Pure parsing. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct NotifyMessage {
        bool ready;
        bool stopping;
        bool reloading;
        bool watchdog;
        char *status;      /* STATUS=, NULL if absent */
        pid_t main_pid;    /* MAINPID=, 0 if absent or invalid */
} NotifyMessage;

/* Parses size bytes (not necessarily NUL-terminated). Unknown keys are
 * ignored, as systemd does. Returns -ENOMEM only. */
int notify_message_parse(const char *data, size_t size, NotifyMessage *ret);
void notify_message_done(NotifyMessage *m);
