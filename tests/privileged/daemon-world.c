/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-world.h"

#define STEP_MS 20

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

void world_path(const DaemonWorld *w, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s", w->dir, name);
}

void world_init(DaemonWorld *w) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        *w = (DaemonWorld) { .notify_fd = -1, .extra_fds = { -1, -1 } };
        snprintf(w->dir, sizeof(w->dir), "/tmp/dmwarden-world-XXXXXX");
        cr_assert_not_null(mkdtemp(w->dir));

        world_path(w, "notify", w->notify_path, sizeof(w->notify_path));
        w->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert_geq(w->notify_fd, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", w->notify_path);
        cr_assert_eq(bind(w->notify_fd, (struct sockaddr *) &sa, sizeof(sa)), 0, "bind %s: %s", w->notify_path,
                     strerror(errno));
}

static void write_substituted(const DaemonWorld *w, const char *path, const char *text, mode_t mode) {
        FILE *f = fopen(path, "we");

        cr_assert_not_null(f, "cannot create %s", path);
        for (const char *p = text; *p;) {
                const char *at = strstr(p, "@DIR@");
                size_t n = at ? (size_t) (at - p) : strlen(p);

                fwrite(p, 1, n, f);
                if (!at)
                        break;
                fputs(w->dir, f);
                p = at + 5;
        }
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(chmod(path, mode), 0);
}

void world_write_config(DaemonWorld *w, const char *text) {
        char path[128], *full = NULL;

        world_path(w, "dmwarden.conf", path, sizeof(path));
        /* Never the host's node_exporter directory: metrics only where a
         * test asks for them. */
        cr_assert_geq(asprintf(&full, "%s%s", text,
                               strstr(text, "[Metrics]") ? "" : "\n[Metrics]\nTextfileDirectory=\n"), 0);
        write_substituted(w, path, full, 0644);
        free(full);
}

void world_write_script(DaemonWorld *w, const char *name, const char *text) {
        char path[128];

        world_path(w, name, path, sizeof(path));
        write_substituted(w, path, text, 0755);
}

void world_start(DaemonWorld *w) {
        char config[128], runtime[128], log[128], source[160] = "";
        const char *binary = getenv("DMWARDEND");

        cr_assert_not_null(binary, "DMWARDEND is not set; run the tests through meson");
        world_path(w, "dmwarden.conf", config, sizeof(config));
        world_path(w, "run", runtime, sizeof(runtime));
        world_path(w, "log", log, sizeof(log));

        w->pid = fork();
        cr_assert_geq(w->pid, 0);
        if (w->pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                int n = 0;
                char buf[16];

                if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(126);
                /* Sockets to hand over go to fds 3.., as systemd would pass them. */
                for (int i = 0; i < 2 && w->extra_fds[i] >= 0; i++, n++)
                        if (dup2(w->extra_fds[i], 3 + i) < 0)
                                _exit(126);
                if (n > 0) {
                        snprintf(buf, sizeof(buf), "%d", n);
                        setenv("LISTEN_FDS", buf, 1);
                        snprintf(buf, sizeof(buf), "%d", (int) getpid());
                        setenv("LISTEN_PID", buf, 1);
                        setenv("LISTEN_FDNAMES", n == 2 ? "first:second" : "first", 1);
                }
                setenv("NOTIFY_SOCKET", w->notify_path, 1);
                setenv("RUNTIME_DIRECTORY", runtime, 1);
                setenv("DMWARDEN_LOG_TARGET", "console", 1);
                setenv("DMWARDEN_LOG_LEVEL", "debug", 1);
                if (w->device_source) {
                        snprintf(source, sizeof(source), "--test-device-source=%s", w->device_source);
                        execl(binary, binary, "--config", config, source, (char *) NULL);
                }
                execl(binary, binary, "--config", config, (char *) NULL);
                _exit(127);
        }
}

static void drain_notify(DaemonWorld *w) {
        char buf[1024];
        ssize_t n;

        while ((n = recv(w->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
                size_t used = strlen(w->notes);

                buf[n] = '\0';
                snprintf(w->notes + used, sizeof(w->notes) - used, "%s\n--\n", buf);
        }
}

bool world_wait_notify(DaemonWorld *w, const char *text, unsigned timeout_ms) {
        for (unsigned t = 0;; t += STEP_MS) {
                drain_notify(w);
                if (strstr(w->notes, text))
                        return true;
                if (t >= timeout_ms)
                        return false;
                sleep_ms(STEP_MS);
        }
}

bool world_wait_file(DaemonWorld *w, const char *name, char *buf, size_t size, unsigned timeout_ms) {
        char path[128];

        world_path(w, name, path, sizeof(path));
        for (unsigned t = 0;; t += STEP_MS) {
                FILE *f = fopen(path, "re");

                if (f) {
                        bool ok = fgets(buf, (int) size, f) != NULL;

                        fclose(f);
                        if (ok) {
                                buf[strcspn(buf, "\n")] = '\0';
                                return true;
                        }
                }
                if (t >= timeout_ms)
                        return false;
                sleep_ms(STEP_MS);
        }
}

const char *world_log(const DaemonWorld *w) {
        static char buf[65536];
        char path[128];
        ssize_t n = 0;
        int fd;

        world_path(w, "log", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
        }
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

bool world_wait_log(DaemonWorld *w, const char *text, unsigned timeout_ms) {
        for (unsigned t = 0;; t += STEP_MS) {
                if (strstr(world_log(w), text))
                        return true;
                if (t >= timeout_ms)
                        return false;
                sleep_ms(STEP_MS);
        }
}

int world_wait_exit(DaemonWorld *w, unsigned timeout_ms) {
        int status;

        for (unsigned t = 0;; t += STEP_MS) {
                pid_t r = waitpid(w->pid, &status, WNOHANG);

                if (r == w->pid) {
                        w->pid = 0;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                if (t >= timeout_ms)
                        return -1;
                sleep_ms(STEP_MS);
        }
}

int world_stop(DaemonWorld *w, unsigned timeout_ms) {
        if (w->pid <= 0)
                return -1;
        kill(w->pid, SIGTERM);
        return world_wait_exit(w, timeout_ms);
}

bool process_exists(pid_t pid) {
        return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* Lazily unmounts every mount at or below dir, deepest first, so no test
 * leaves a mount behind for the next one to trip over. */
static void unmount_below(const char *dir) {
        char line[4096], mounts[64][512];
        size_t n = 0, len = strlen(dir);
        FILE *f;

        f = fopen("/proc/self/mountinfo", "re");
        cr_assert_not_null(f);
        while (n < 64 && fgets(line, sizeof(line), f)) {
                char target[512];

                /* Field 5 is the mount point; test paths have no spaces. */
                if (sscanf(line, "%*s %*s %*s %*s %511s", target) == 1 && strncmp(target, dir, len) == 0 &&
                    (target[len] == '/' || target[len] == '\0'))
                        snprintf(mounts[n++], sizeof(mounts[0]), "%s", target);
        }
        fclose(f);
        /* Later lines are mounted on top of earlier ones: undo them first. */
        while (n-- > 0)
                (void) umount2(mounts[n], MNT_DETACH);
}

void world_destroy(DaemonWorld *w) {
        char path[128], line[64];
        FILE *f;

        if (w->pid > 0) {
                kill(w->pid, SIGKILL);
                waitpid(w->pid, NULL, 0);
        }
        /* Fake engines write their pid; they outlive dmwardend on purpose
         * (the next one adopts them), so they are ended here. */
        world_path(w, "engine.pid", path, sizeof(path));
        f = fopen(path, "re");
        if (f) {
                if (fgets(line, sizeof(line), f))
                        kill((pid_t) atoi(line), SIGKILL);
                fclose(f);
        }
        unmount_below(w->dir);
        if (w->notify_fd >= 0)
                close(w->notify_fd);
        for (int i = 0; i < 2; i++)
                if (w->extra_fds[i] >= 0)
                        close(w->extra_fds[i]);
        (void) nftw(w->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
