/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-run.h"

/* Reads fd to its end into *text (free it) and closes fd. */
static void read_all(int fd, char **text) {
        size_t size = 0;
        char buf[4096];
        FILE *f = open_memstream(text, &size);
        ssize_t k;

        cr_assert_not_null(f);
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t) k, f);
        close(fd);
        fclose(f);
}

/* Runs the program $variable names. */
static int run_program_err(const char *variable, uid_t uid, char **out, char **err, const char *const *args) {
        const char *ctl = getenv(variable);
        char *argv[8] = { (char *) ctl };
        size_t n = 1;
        int p[2], e[2] = { -1, -1 }, status;
        pid_t pid;

        cr_assert_not_null(ctl, "%s is not set; run the tests through meson", variable);
        for (; *args && n < sizeof(argv) / sizeof(argv[0]) - 1; args++)
                argv[n++] = (char *) *args;
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        if (err)
                cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0 || (err && dup2(e[1], STDERR_FILENO) < 0))
                        _exit(126);
                if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                        _exit(125);
                execv(ctl, argv);
                _exit(127);
        }
        close(p[1]);
        /* stdout first, then stderr: dmwardenctl's few lines of complaint
         * fit in the pipe meanwhile. */
        read_all(p[0], out);
        if (err) {
                close(e[1]);
                read_all(e[0], err);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

int run_ctl_err(uid_t uid, char **out, char **err, const char *const *args) {
        return run_program_err("DMWARDENCTL", uid, out, err, args);
}

int run_daemon_err(char **out, char **err, const char *const *args) {
        return run_program_err("DMWARDEND", 0, out, err, args);
}

int run_ctl(uid_t uid, char **out, const char *const *args) {
        return run_ctl_err(uid, out, NULL, args);
}

bool json_valid(const char *text) {
        return json_check(text, "True");
}

bool json_check(const char *text, const char *expression) {
        char command[1024];
        FILE *p;

        cr_assert(!strchr(expression, '\''), "quote the expression with \"");
        snprintf(command, sizeof(command),
                 "/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if (%s) else 1)'",
                 expression);
        p = popen(command, "w");
        cr_assert_not_null(p);
        fputs(text, p);
        return pclose(p) == 0;
}
