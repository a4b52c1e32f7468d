/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running dmwardenctl ($DMWARDENCTL), and dmwardend ($DMWARDEND) for what it
 * says about its command line, as a user would, and checking what they
 * print. */

#include <stdbool.h>
#include <sys/types.h>

/* Runs it as uid with args (NULL-terminated); its stdout goes to *out
 * (free it). Returns the exit status. */
int run_ctl(uid_t uid, char **out, const char *const *args);
#define RUN_CTL(uid, out, ...) run_ctl((uid), (out), (const char *const[]) { __VA_ARGS__, NULL })
/* The same, with its stderr in *err (free it) instead of the test's. */
int run_ctl_err(uid_t uid, char **out, char **err, const char *const *args);
#define RUN_CTL_ERR(uid, out, err, ...) \
        run_ctl_err((uid), (out), (err), (const char *const[]) { __VA_ARGS__, NULL })

/* dmwardend ($DMWARDEND) for what it says before it would run: its
 * arguments and configuration. */
int run_daemon_err(char **out, char **err, const char *const *args);
#define RUN_DAEMON_ERR(out, err, ...) run_daemon_err((out), (err), (const char *const[]) { __VA_ARGS__, NULL })

/* Whether text is one valid JSON document. */
bool json_valid(const char *text);
/* Whether text is one JSON document, d, for which the Python expression
 * holds ("d['devices'] == []"). */
bool json_check(const char *text, const char *expression);
