/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of ways to find who holds a block device: builds a world of N
 * processes in M mount namespaces of K mounts each (the device mounted in
 * every tenth namespace, and one holder whose cwd pins a detached mount),
 * then times grep over every mountinfo, fuser -m, lsof, the holder scanner
 * through each source, and dmwardenctl. See README.md. Everything it makes
 * dies with it, even on SIGKILL: world processes have PR_SET_PDEATHSIG,
 * mounts live only in their namespaces, the loop device auto-clears and
 * its backing file is unlinked as soon as it is attached. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "holder-scan.h"
#include "macro.h"
#include "proc-util.h"

typedef struct Params {
        unsigned processes, namespaces, mounts, repeat;
        const char *dmwardenctl;
} Params;

_noreturn_ static void die(const char *what) {
        fprintf(stderr, "bench-holders: %s: %s\n", what, strerror(errno));
        exit(EXIT_FAILURE);
}

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* Dies with its parent; in a child, a parent already gone means exit now. */
static void die_with_parent(pid_t parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
}

/* A sparse ext4 image on a loop device that detaches itself when unused;
 * the image file is unlinked at once, so nothing is left behind. */
static int make_loop(char *node, size_t size, dev_t *ret) {
        struct loop_config config = { .info.lo_flags = LO_FLAGS_AUTOCLEAR };
        char image[] = "/tmp/dmwarden-bench-XXXXXX", cmd[128];
        int backing, control, fd = -1;
        struct stat st;

        backing = mkostemp(image, O_CLOEXEC);
        if (backing < 0)
                die("mkstemp");
        if (unlink(image) < 0 || ftruncate(backing, 64 << 20) < 0)
                die("image");
        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                die("/dev/loop-control");
        for (int attempt = 0; attempt < 10 && fd < 0; attempt++) {
                int n = ioctl(control, LOOP_CTL_GET_FREE);

                snprintf(node, size, "/dev/loop%d", n);
                fd = open(node, O_RDWR | O_CLOEXEC);
                config.fd = (unsigned) backing;
                if (fd >= 0 && ioctl(fd, LOOP_CONFIGURE, &config) < 0) {
                        close(fd);
                        fd = -1;
                }
        }
        if (fd < 0)
                die("LOOP_CONFIGURE");
        close(control);
        close(backing);
        snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1", node);
        if (system(cmd) != 0)
                die("mkfs.ext4");
        if (fstat(fd, &st) < 0)
                die("fstat");
        *ret = st.st_rdev;
        return fd;
}

/* One namespace: a private tmpfs on /tmp with K-1 bind mounts in it,
 * the device on /tmp/dev if holds, and members-1 idle children. */
_noreturn_ static void run_leader(const Params *p, unsigned index, unsigned members, const char *node,
                                  int loop_fd, int ready_fd, pid_t parent) {
        char path[64];
        pid_t self = getpid();

        die_with_parent(parent);
        /* Only the bench holds the node open; the world holds mounts. */
        close(loop_fd);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
                _exit(10);
        if (mount("bench", "/tmp", "tmpfs", 0, "size=1m") < 0 || mkdir("/tmp/dev", 0755) < 0 ||
            mkdir("/tmp/base", 0755) < 0)
                _exit(11);
        for (unsigned i = 1; i < p->mounts; i++) {
                snprintf(path, sizeof(path), "/tmp/m%u", i);
                if (mkdir(path, 0755) < 0 || mount("/tmp/base", path, NULL, MS_BIND, NULL) < 0)
                        _exit(12);
        }
        /* Namespace 1 hides its holder: cwd in a mount detached from every table. */
        if (index % 10 == 0 || index == 1)
                if (mount(node, "/tmp/dev", "ext4", 0, NULL) < 0)
                        _exit(13);

        for (unsigned i = 1; i < members; i++) {
                pid_t pid = fork();

                if (pid < 0)
                        _exit(14);
                if (pid == 0) {
                        die_with_parent(self);
                        if (index == 1 && i == 1 && chdir("/tmp/dev") < 0)
                                _exit(15);
                        for (;;)
                                pause();
                }
        }
        if (index == 1) {
                /* The child chdir()s concurrently; wait until it did. */
                for (int tries = 0; tries < 1000 && umount2("/tmp/dev", 0) == 0; tries++) {
                        if (mount(node, "/tmp/dev", "ext4", 0, NULL) < 0)
                                _exit(16);
                        usleep(1000);
                }
                if (umount2("/tmp/dev", MNT_DETACH) < 0)
                        _exit(17);
        }
        if (write(ready_fd, "r", 1) != 1)
                _exit(18);
        for (;;)
                pause();
}

static pid_t *build_world(const Params *p, const char *node, int loop_fd) {
        unsigned per = p->processes / p->namespaces, extra = p->processes % p->namespaces;
        pid_t self = getpid(), *leaders = calloc(p->namespaces, sizeof(pid_t));
        int pipefd[2];
        double start = now_ms();

        if (!leaders || pipe2(pipefd, O_CLOEXEC) < 0)
                die("pipe");
        for (unsigned i = 0; i < p->namespaces; i++) {
                leaders[i] = fork();
                if (leaders[i] < 0)
                        die("fork");
                if (leaders[i] == 0)
                        run_leader(p, i, per + (i < extra), node, loop_fd, pipefd[1], self);
        }
        close(pipefd[1]);
        for (unsigned i = 0; i < p->namespaces; i++) {
                char c;

                if (read(pipefd[0], &c, 1) != 1) {
                        fprintf(stderr, "bench-holders: a namespace leader failed (see its exit status)\n");
                        exit(EXIT_FAILURE);
                }
        }
        close(pipefd[0]);
        fprintf(stderr, "world: %u processes, %u namespaces x %u mounts, built in %.1f s\n", p->processes,
                p->namespaces, p->mounts, (now_ms() - start) / 1e3);
        return leaders;
}

typedef enum Count { COUNT_LINES, COUNT_WORDS, COUNT_NAMESPACES } Count;

/* Runs a shell command and counts what it found in its stdout: lines,
 * words (fuser's PIDs), or namespaces in dmwardenctl's JSON. */
static double time_command(const char *cmd, Count count, unsigned *found) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0, n = 0;
        double start = now_ms();
        FILE *f = popen(cmd, "r");
        char buf[65536];

        if (!f)
                die("popen");
        for (size_t k; (k = fread(buf, 1, sizeof(buf), f)) > 0;) {
                char *grown = realloc(out, size + k + 1);

                if (!grown)
                        die("realloc");
                out = grown;
                memcpy(out + size, buf, k);
                size += k;
                out[size] = 0;
        }
        (void) pclose(f);
        double elapsed = now_ms() - start;

        for (char *p = out; p && *p;) {
                if (count == COUNT_NAMESPACES) {
                        p = strstr(p, "\"mntns_id\"");
                        if (!p)
                                break;
                        n++;
                        p++;
                } else if (count == COUNT_LINES) {
                        n += *p == '\n';
                        p++;
                } else {
                        p += strspn(p, " \t\n");
                        if (*p)
                                n++;
                        p += strcspn(p, " \t\n");
                }
        }
        *found = (unsigned) n;
        return elapsed;
}

static double time_scan(dev_t dev, MountSource source, bool files, unsigned *found) {
        HolderScanOptions o = { .dev = dev, .source = source, .scan_files = files };
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        double start = now_ms();
        int r;

        r = holder_scan(&o, &s);
        if (r < 0) {
                errno = -r;
                die("holder_scan");
        }
        *found = (unsigned) s->n_namespaces;
        return now_ms() - start;
}

/* The naming pass alone: readlink of every /proc/PID/ns/mnt. */
static double time_proc_pass(unsigned *found) {
        _cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        double start = now_ms();
        struct dirent *de;
        DIR *d = opendir("/proc");
        unsigned n = 0;

        if (!d || proc_fd < 0)
                die("/proc");
        while ((de = readdir(d))) {
                uint64_t ino;

                if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
                    proc_read_mntns(proc_fd, (pid_t) atoi(de->d_name), &ino) >= 0)
                        n++;
        }
        closedir(d);
        *found = n;
        return now_ms() - start;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

typedef enum Method {
        M_GREP, M_FUSER, M_LSOF, M_PROC_PASS, M_SCAN_MOUNTINFO, M_SCAN_LISTMOUNT,
        M_SCAN_LISTMOUNT_FILES, M_SCAN_MOUNTINFO_FILES, M_CTL, _M_MAX,
} Method;

static const char *const method_names[_M_MAX] = {
        [M_GREP] = "`grep -l` over every /proc/PID/mountinfo",
        [M_FUSER] = "`fuser -m DEV`",
        [M_LSOF] = "`lsof DEV`",
        [M_PROC_PASS] = "naming pass only (readlink every ns/mnt)",
        [M_SCAN_MOUNTINFO] = "holder_scan, mountinfo, mounts only",
        [M_SCAN_LISTMOUNT] = "holder_scan, listmount, mounts only",
        [M_SCAN_LISTMOUNT_FILES] = "holder_scan, listmount, with file scan",
        [M_SCAN_MOUNTINFO_FILES] = "holder_scan, mountinfo, with file scan",
        [M_CTL] = "`dmwardenctl holders DEV --json` (auto)",
};

static const char *const found_units[_M_MAX] = {
        [M_GREP] = "processes", [M_FUSER] = "PIDs", [M_LSOF] = "lines",
        [M_PROC_PASS] = "processes", [M_SCAN_MOUNTINFO] = "namespaces", [M_SCAN_LISTMOUNT] = "namespaces",
        [M_SCAN_LISTMOUNT_FILES] = "namespaces", [M_SCAN_MOUNTINFO_FILES] = "namespaces", [M_CTL] = "namespaces",
};

static double run_method(Method m, const Params *p, const char *node, dev_t dev, unsigned *found) {
        char cmd[512];

        switch (m) {
        case M_GREP:
                snprintf(cmd, sizeof(cmd), "grep -l -F -e ' %u:%u ' /proc/[0-9]*/mountinfo 2>/dev/null",
                         major(dev), minor(dev));
                return time_command(cmd, COUNT_LINES, found);
        case M_FUSER:
                snprintf(cmd, sizeof(cmd), "fuser -m %s 2>/dev/null", node);
                return time_command(cmd, COUNT_WORDS, found);
        case M_LSOF:
                snprintf(cmd, sizeof(cmd), "lsof -w %s 2>/dev/null", node);
                return time_command(cmd, COUNT_LINES, found);
        case M_PROC_PASS:
                return time_proc_pass(found);
        case M_SCAN_MOUNTINFO:
                return time_scan(dev, MOUNT_SOURCE_MOUNTINFO, false, found);
        case M_SCAN_LISTMOUNT:
                return time_scan(dev, MOUNT_SOURCE_LISTMOUNT, false, found);
        case M_SCAN_LISTMOUNT_FILES:
                return time_scan(dev, MOUNT_SOURCE_LISTMOUNT, true, found);
        case M_SCAN_MOUNTINFO_FILES:
                return time_scan(dev, MOUNT_SOURCE_MOUNTINFO, true, found);
        case M_CTL:
                snprintf(cmd, sizeof(cmd), "%s holders %s --json 2>/dev/null", p->dmwardenctl, node);
                return time_command(cmd, COUNT_NAMESPACES, found);
        default:
                abort();
        }
}

static void usage(void) {
        fprintf(stderr, "Usage: bench-holders [--processes N] [--namespaces M] [--mounts K] [--repeat R]\n"
                        "                     [--dmwardenctl PATH] [--skip METHOD,...]\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "processes", required_argument, NULL, 'n' },
                { "namespaces", required_argument, NULL, 'm' },
                { "mounts", required_argument, NULL, 'k' },
                { "repeat", required_argument, NULL, 'r' },
                { "dmwardenctl", required_argument, NULL, 'c' },
                { "skip", required_argument, NULL, 's' },
                {},
        };
        Params p = { .processes = 1000, .namespaces = 10, .mounts = 100, .repeat = 5 };
        bool skip[_M_MAX] = {};
        char node[32];
        pid_t *leaders;
        dev_t dev;
        int c, loop_fd;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n': p.processes = (unsigned) atoi(optarg); break;
                case 'm': p.namespaces = (unsigned) atoi(optarg); break;
                case 'k': p.mounts = (unsigned) atoi(optarg); break;
                case 'r': p.repeat = (unsigned) atoi(optarg); break;
                case 'c': p.dmwardenctl = optarg; break;
                case 's':
                        for (Method m = 0; m < _M_MAX; m++)
                                if (strstr(optarg, (const char *[]) { "grep", "fuser", "lsof", "proc", "scan-mountinfo",
                                                                      "scan-listmount", "scan-listmount-files",
                                                                      "scan-mountinfo-files", "ctl" }[m]))
                                        skip[m] = true;
                        break;
                default:
                        usage();
                        return 2;
                }
        if (p.namespaces == 0 || p.processes < p.namespaces || p.mounts == 0 || p.repeat == 0) {
                usage();
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-holders: needs root (namespaces, mounts, loop devices)\n");
                return 77;
        }
        if (!p.dmwardenctl)
                skip[M_CTL] = true;
        if (!mount_source_listmount_supported())
                skip[M_SCAN_LISTMOUNT] = skip[M_SCAN_LISTMOUNT_FILES] = true;

        /* Ctrl-C must end us even when a shell started us ignoring it;
         * dying is all the cleanup there is (see the top of this file). */
        signal(SIGINT, SIG_DFL);
        /* Orphans of the world come to us, so every PID is reaped at exit. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        loop_fd = make_loop(node, sizeof(node), &dev);
        leaders = build_world(&p, node, loop_fd);
        close(loop_fd); /* only the mounts and the hidden holder keep it now */

        printf("| method | median ms | min ms | found |\n|---|---:|---:|---|\n");
        fflush(stdout);
        for (Method m = 0; m < _M_MAX; m++) {
                double t[64];
                unsigned found = 0, r = p.repeat < 64 ? p.repeat : 64;

                if (skip[m])
                        continue;
                for (unsigned i = 0; i < r; i++)
                        t[i] = run_method(m, &p, node, dev, &found);
                qsort(t, r, sizeof(double), cmp_double);
                printf("| %s | %.1f | %.1f | %u %s |\n", method_names[m], t[r / 2], t[0], found, found_units[m]);
                fflush(stdout);
        }

        /* Tear down: a leader's death takes its children (PDEATHSIG), then
         * the namespace, its mounts, and at last the loop device. As the
         * subreaper we reap every one of them. */
        for (unsigned i = 0; i < p.namespaces; i++)
                (void) kill(leaders[i], SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        free(leaders);
        return 0;
}
