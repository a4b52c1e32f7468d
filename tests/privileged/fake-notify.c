/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-notify STATE...: what a notifying engine does, sd_notify() with the
 * given assignments joined by newlines, without needing systemd-notify. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char *argv[]) {
        char message[4096] = "";
        int r;

        for (int i = 1; i < argc; i++) {
                strncat(message, argv[i], sizeof(message) - strlen(message) - 2);
                strcat(message, "\n");
        }
        /* Speak as our parent, the engine itself, as a real engine does: a
         * message from a short-lived helper that exits before dmwardend
         * reads it cannot be traced to the engine any more (the same race
         * systemd-notify has under NotifyAccess=all). Root may do this. */
        r = sd_pid_notify(getppid(), 0, message);
        if (r <= 0) {
                fprintf(stderr, "fake-notify: sd_notify failed (%d); NOTIFY_SOCKET unset?\n", r);
                return 1;
        }
        return 0;
}
