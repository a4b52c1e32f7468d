/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of ways to find who holds a block device: builds a world of N
 * processes in M mount namespaces of K mounts each, with exactly four
 * holders of a loop device (leaked, pinned, fd, ghost: see README.md),
 * then times grep over every mountinfo, fuser -m, lsof, two floors, the
 * holder scanner through each source and each walk (/proc, or the BPF task
 * walk: its load and its walk alone are timed too), and dmwardenctl with
 * each walk, and says which of the four each one found.
 *
 * Everything it makes dies with it, even on SIGKILL: the bench first moves
 * into a private mount namespace of its own (the world's "host"), so its
 * mounts and the ghost's nsfs pin exist only there; world processes have
 * PR_SET_PDEATHSIG; the loop device auto-clears and its backing file is
 * unlinked as soon as it is attached. */
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "holders/holder-scan.h"
#include "holders/holders-format.h"
#include "holders/proc-util.h"
#include "holders/task-walk.h"

typedef struct Params {
        unsigned processes, namespaces, mounts, repeat;
        bool mapped;             /* the fd holder maps a file of the device too */
        const char *dmwardenctl;
        TaskWalk *task_walk;     /* loaded once, as a long-lived scanner
                                  * would; NULL: the BPF rows are skipped */
} Params;

/* The world: where things are, and the four holders to find. */
typedef struct World {
        char root[64];           /* private tmpfs in the bench's namespace */
        char dev_dir[80];        /* where the bench mounted the device */
        char pin[80];            /* the ghost's nsfs pin */
        char node[32];
        dev_t dev;
        int loop_fd;             /* the bench's, until the world holds it */
        pid_t *leaders;
        pid_t leaked_pid;        /* leader of the namespace with the copy */
        pid_t pinned_pid;        /* cwd in a detached mount */
        pid_t fd_pid;            /* /dev/loopN open */
        uint64_t ghost_mntns;    /* no process; the pin keeps it */
} World;

enum { HOLDER_LEAKED, HOLDER_PINNED, HOLDER_FD, HOLDER_GHOST, _HOLDER_MAX };
static const char *const holder_names[_HOLDER_MAX] = { "leaked", "pinned", "fd", "ghost" };

_noreturn_ static void die(const char *what) {
        fprintf(stderr, "bench-holders: %s: %s\n", what, strerror(errno));
        exit(EXIT_FAILURE);
}

static double timeval_ms(struct timeval tv) {
        return (double) tv.tv_sec * 1e3 + (double) tv.tv_usec / 1e3;
}

static double rusage_ms(const struct rusage *ru) {
        return timeval_ms(ru->ru_utime) + timeval_ms(ru->ru_stime);
}

/* CPU time of this process so far. */
static double self_cpu_ms(void) {
        struct rusage ru;

        (void) getrusage(RUSAGE_SELF, &ru);
        return rusage_ms(&ru);
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

/* The bench's own namespace: whatever it mounts stays in there. */
static void enter_private_namespace(World *w) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
                die("private mount namespace");
        snprintf(w->root, sizeof(w->root), "/tmp/dmwarden-bench-XXXXXX");
        if (!mkdtemp(w->root) || mount("bench", w->root, "tmpfs", 0, "size=1m") < 0)
                die("bench tmpfs");
        snprintf(w->dev_dir, sizeof(w->dev_dir), "%s/dev", w->root);
        snprintf(w->pin, sizeof(w->pin), "%s/ghost.mnt", w->root);
        if (mkdir(w->dev_dir, 0755) < 0)
                die("mkdir");
}

/* A sparse ext4 image on a loop device that detaches itself when unused;
 * the image file is unlinked at once, so nothing is left behind. */
static void make_loop(World *w) {
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

                snprintf(w->node, sizeof(w->node), "/dev/loop%d", n);
                fd = open(w->node, O_RDWR | O_CLOEXEC);
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
        snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1", w->node);
        if (system(cmd) != 0)
                die("mkfs.ext4");
        if (fstat(fd, &st) < 0)
                die("fstat");
        w->dev = st.st_rdev;
        w->loop_fd = fd;
}

/* One namespace: a private copy of the bench's mounts (the device on
 * dev_dir among them), a tmpfs with K-1 bind mounts, and members-1 idle
 * children. Namespace 0 keeps its copy of the device mount (leaked); the
 * others detach theirs, namespace 1 after its leader made its cwd there
 * (pinned); namespace 2's leader opens the device node (fd), and with
 * --mapped maps a file of the device too (a mapping walk then runs). */
_noreturn_ static void run_leader(const Params *p, const World *w, unsigned index, unsigned members,
                                  int ready_fd, pid_t parent) {
        char path[128], k_dir[96];
        pid_t self = getpid();

        die_with_parent(parent);
        close(w->loop_fd); /* only the holders may hold the device */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
                _exit(10);
        snprintf(k_dir, sizeof(k_dir), "%s/k", w->root);
        if (mkdir(k_dir, 0755) < 0 && errno != EEXIST)
                _exit(11);
        if (mount("bench", k_dir, "tmpfs", 0, "size=1m") < 0)
                _exit(11);
        snprintf(path, sizeof(path), "%s/base", k_dir);
        if (mkdir(path, 0755) < 0)
                _exit(11);
        for (unsigned i = 1; i < p->mounts; i++) {
                char target[128];

                snprintf(target, sizeof(target), "%s/m%u", k_dir, i);
                if (mkdir(target, 0755) < 0 || mount(path, target, NULL, MS_BIND, NULL) < 0)
                        _exit(12);
        }
        for (unsigned i = 1; i < members; i++) {
                pid_t pid = fork();

                if (pid < 0)
                        _exit(14);
                if (pid == 0) {
                        die_with_parent(self);
                        for (;;)
                                pause();
                }
        }
        /* After the fork, so that only the leader holds. */
        if (index == 1 && chdir(w->dev_dir) < 0)
                _exit(15);
        if (index == 2 && open(w->node, O_RDONLY) < 0) /* stays open */
                _exit(16);
        if (index == 2 && p->mapped) {
                int fd;

                snprintf(path, sizeof(path), "%s/mapped", w->dev_dir);
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                if (fd < 0 || ftruncate(fd, 4096) < 0 ||
                    mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
                        _exit(19);
                close(fd); /* only the mapping holds the file now */
        }
        if (index != 0 && umount2(w->dev_dir, MNT_DETACH) < 0)
                _exit(17);
        if (write(ready_fd, "r", 1) != 1)
                _exit(18);
        for (;;)
                pause();
}

/* A namespace no process is in: a child makes it (with its copy of the
 * device mount), the bench pins it on w->pin, the child exits. */
static void make_ghost(World *w) {
        char nspath[64], c;
        pid_t pid, self = getpid();
        int p[2], fd;

        if (pipe2(p, O_CLOEXEC) < 0)
                die("pipe");
        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                /* If the pin fails, the bench dies before it kills us. */
                die_with_parent(self);
                close(w->loop_fd);
                if (unshare(CLONE_NEWNS) < 0 || write(p[1], "r", 1) != 1)
                        _exit(20);
                pause();
                _exit(0);
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
                die("ghost child");
        close(p[0]);
        fd = open(w->pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                die("pin file");
        close(fd);
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int) pid);
        if (mount(nspath, w->pin, NULL, MS_BIND, NULL) < 0)
                die("nsfs pin");
        if (proc_read_mntns(AT_FDCWD, pid, &w->ghost_mntns) < 0)
                die("ghost namespace");
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

static void build_world(const Params *p, World *w) {
        unsigned per = p->processes / p->namespaces, extra = p->processes % p->namespaces;
        pid_t self = getpid();
        int pipefd[2];
        double start = now_ms();

        w->leaders = calloc(p->namespaces, sizeof(pid_t));
        if (!w->leaders || pipe2(pipefd, O_CLOEXEC) < 0)
                die("pipe");
        if (mount(w->node, w->dev_dir, "ext4", 0, NULL) < 0)
                die("mount");
        for (unsigned i = 0; i < p->namespaces; i++) {
                w->leaders[i] = fork();
                if (w->leaders[i] < 0)
                        die("fork");
                if (w->leaders[i] == 0)
                        run_leader(p, w, i, per + (i < extra), pipefd[1], self);
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
        make_ghost(w);
        /* The host lets the device go; namespace 0 keeps its copy. */
        if (umount2(w->dev_dir, 0) < 0)
                die("umount");
        w->leaked_pid = w->leaders[0];
        w->pinned_pid = w->leaders[1];
        w->fd_pid = w->leaders[2];
        fprintf(stderr, "world: %u processes, %u namespaces x %u mounts%s, built in %.1f s\n", p->processes,
                p->namespaces, p->mounts, p->mapped ? ", a file of the device mapped" : "",
                (now_ms() - start) / 1e3);
}

/* Whether text names n as a whole number (a PID, an inode). */
static bool names_number(const char *text, unsigned long long n) {
        char needle[32];
        size_t l = (size_t) snprintf(needle, sizeof(needle), "%llu", n);

        for (const char *p = text; p && (p = strstr(p, needle)); p += l)
                if ((p == text || p[-1] < '0' || p[-1] > '9') && (p[l] < '0' || p[l] > '9'))
                        return true;
        return false;
}

/* Whether text names pid as a holder: a "pid" key of JSON, the scanner's
 * compact document ({"pid":N,) or dmwardenctl's libsmartcols rows
 * ("pid": N,), whose member lists name processes that hold nothing; or
 * anywhere in the tools' output, which lists holders only. */
static bool names_pid(const char *text, pid_t pid) {
        if (text[0] != '{')
                return names_number(text, (unsigned long long) pid);
        for (const char *p = text; (p = strstr(p, "\"pid\"")); ) {
                char *end;
                long n;

                p += strlen("\"pid\"");
                p += strspn(p, " \t\n");
                if (*p != ':')
                        continue;
                p += 1 + strspn(p + 1, " \t\n");
                if (*p < '0' || *p > '9')
                        continue;  /* null: a row of a namespace no process is in */
                n = strtol(p, &end, 10);
                if (n == pid)
                        return true;
                p = end;
        }
        return false;
}

/* Which of the four holders an output names: by the PID of the leaked
 * namespace's leader, the pinned and the fd holder, and the ghost's
 * namespace inode (nothing else could name a namespace no process is in). */
static unsigned holders_found(const World *w, const char *text) {
        unsigned found = 0;

        if (names_pid(text, w->leaked_pid))
                found |= 1U << HOLDER_LEAKED;
        if (names_pid(text, w->pinned_pid))
                found |= 1U << HOLDER_PINNED;
        if (names_pid(text, w->fd_pid))
                found |= 1U << HOLDER_FD;
        if (names_number(text, w->ghost_mntns))
                found |= 1U << HOLDER_GHOST;
        return found;
}

typedef struct Run {
        double ms;
        double cpu_ms;           /* user + system: less at the mercy of a
                                  * busy machine than wall time */
        long maxrss_kib;         /* of the command; -1 in-process */
        char *out;
} Run;

/* Runs a shell command, its stdout into r->out, its peak RSS from wait4. */
static void run_command(const char *cmd, Run *r) {
        size_t size = 0;
        FILE *f = open_memstream(&r->out, &size);
        char buf[65536];
        struct rusage ru;
        double start = now_ms();
        int p[2], status;
        ssize_t k;
        pid_t pid;

        if (!f || pipe2(p, O_CLOEXEC) < 0)
                die("pipe");
        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        while ((k = read(p[0], buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t) k, f);
        close(p[0]);
        if (wait4(pid, &status, 0, &ru) != pid)
                die("wait4");
        r->ms = now_ms() - start;
        r->cpu_ms = rusage_ms(&ru);
        r->maxrss_kib = ru.ru_maxrss;
        fclose(f);
}

/* With a task walk, the scan must take it (HOLDER_WALK_BPF fails rather
 * than fall back to /proc); without, it reads /proc. */
static void run_scan(const World *w, MountSource source, TaskWalk *task_walk, bool files, Run *r) {
        HolderScanOptions o = {
                .dev = w->dev,
                .source = source,
                .scan_files = files,
                .walk = task_walk ? HOLDER_WALK_BPF : HOLDER_WALK_PROC,
                .task_walk = task_walk,
        };
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        double start = now_ms(), cpu = self_cpu_ms();
        size_t size = 0;
        FILE *f;
        int k;

        k = holder_scan(&o, &s);
        r->ms = now_ms() - start;
        r->cpu_ms = self_cpu_ms() - cpu;
        if (k < 0) {
                errno = -k;
                die("holder_scan");
        }
        if (s->walk != o.walk) {
                fprintf(stderr, "bench-holders: holder_scan walked %s, not %s\n", holder_walk_to_string(s->walk),
                        holder_walk_to_string(o.walk));
                exit(EXIT_FAILURE);
        }
        r->maxrss_kib = -1;
        f = open_memstream(&r->out, &size);
        if (!f || holders_print_json(f, s, w->node) < 0)
                die("holders_print_json");
        fclose(f);
}

typedef struct Floor {
        int proc_fd;
        unsigned n;
} Floor;

/* The floor of a mount scan: one readlink of every /proc/PID/ns/mnt, the
 * least that names every process's namespace. */
static int floor_readlink(pid_t pid, void *userdata) {
        Floor *f = userdata;
        uint64_t ino;

        if (proc_read_mntns(f->proc_fd, pid, &ino) >= 0)
                f->n++;
        return 0;
}

static int ignore_fd(pid_t fd, void *userdata) {
        return 0;
}

/* The floor of a file scan: open and list every /proc/PID/fd, the least
 * that sees every open file, before looking at a single one. */
static int floor_fd_dirs(pid_t pid, void *userdata) {
        Floor *f = userdata;
        char path[32];

        snprintf(path, sizeof(path), "%d/fd", (int) pid);
        if (proc_for_each_pid(f->proc_fd, path, ignore_fd, NULL) >= 0)
                f->n++;
        return 0;
}

static void run_floor(proc_pid_func_t fn, Run *r) {
        Floor f = { .proc_fd = proc_open() };
        double start = now_ms(), cpu = self_cpu_ms();

        if (f.proc_fd < 0 || proc_for_each_pid(f.proc_fd, ".", fn, &f) < 0)
                die("/proc");
        r->ms = now_ms() - start;
        r->cpu_ms = self_cpu_ms() - cpu;
        r->maxrss_kib = -1;
        close(f.proc_fd);
        if (asprintf(&r->out, "%u processes", f.n) < 0)
                die("asprintf");
}

/* The price of the BPF walk that every dmwardenctl run pays and a
 * long-lived scanner pays once: loading the programs (and freeing them). */
static void run_task_walk_load(Run *r) {
        _cleanup_free_ char *why = NULL;
        double start = now_ms(), cpu = self_cpu_ms();
        TaskWalk *t = NULL;
        int k;

        k = task_walk_open(&t, &why);
        r->ms = now_ms() - start;
        r->cpu_ms = self_cpu_ms() - cpu;
        if (k < 0) {
                fprintf(stderr, "bench-holders: task_walk_open: %s\n", why ?: strerror(-k));
                exit(EXIT_FAILURE);
        }
        task_walk_unref(t);
        r->maxrss_kib = -1;
        if (asprintf(&r->out, "loaded") < 0)
                die("asprintf");
}

/* The floor of a BPF walk: the walk alone, asked about the device (every
 * task's namespace, and which processes' files may be on it), without the
 * mount tables or a look at a single /proc file. */
static void run_task_walk(const Params *p, const World *w, Run *r) {
        _cleanup_(task_walk_result_done) TaskWalkResult res = {};
        double start = now_ms(), cpu = self_cpu_ms();
        int k;

        k = task_walk_run(p->task_walk, &w->dev, 1, TASK_WALK_ASK_HOLDERS | TASK_WALK_ASK_MOUNTS, &res);
        r->ms = now_ms() - start;
        r->cpu_ms = self_cpu_ms() - cpu;
        if (k < 0) {
                errno = -k;
                die("task_walk_run");
        }
        r->maxrss_kib = -1;
        if (asprintf(&r->out, "%zu tasks, %zu processes to look at", res.n_tasks, res.n_holding) < 0)
                die("asprintf");
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

typedef enum Method {
        M_GREP, M_FUSER, M_LSOF, M_FLOOR, M_FLOOR_FD, M_BPF_LOAD, M_FLOOR_BPF, M_SCAN_MOUNTINFO,
        M_SCAN_LISTMOUNT, M_SCAN_LISTMOUNT_BPF, M_SCAN_MOUNTINFO_FILES, M_SCAN_LISTMOUNT_FILES,
        M_SCAN_LISTMOUNT_BPF_FILES, M_CTL, M_CTL_BPF, _M_MAX,
} Method;

/* Rows that find nothing: costs to compare against. */
static bool method_is_floor(Method m) {
        return IN_SET(m, M_FLOOR, M_FLOOR_FD, M_BPF_LOAD, M_FLOOR_BPF);
}

static bool method_needs_task_walk(Method m) {
        return IN_SET(m, M_BPF_LOAD, M_FLOOR_BPF, M_SCAN_LISTMOUNT_BPF, M_SCAN_LISTMOUNT_BPF_FILES, M_CTL_BPF);
}

static const struct {
        const char *name;        /* for --skip */
        const char *title;
} methods[_M_MAX] = {
        [M_GREP] = { "grep", "`grep -l MAJ:MIN /proc/[0-9]*/mountinfo`" },
        [M_FUSER] = { "fuser", "`fuser -m DEV`" },
        [M_LSOF] = { "lsof", "`lsof DEV`" },
        [M_FLOOR] = { "floor", "floor: readlink every /proc/PID/ns/mnt" },
        [M_FLOOR_FD] = { "fd-floor", "file-scan floor: open and list every /proc/PID/fd" },
        [M_BPF_LOAD] = { "bpf-load", "BPF walk load: `task_walk_open()` (once, before the BPF rows)" },
        [M_FLOOR_BPF] = { "bpf-floor", "BPF walk floor: `task_walk_run()` alone, every task and its files" },
        [M_SCAN_MOUNTINFO] = { "scan-mountinfo", "holder_scan, mountinfo, mounts only" },
        [M_SCAN_LISTMOUNT] = { "scan-listmount", "holder_scan, listmount, mounts only" },
        [M_SCAN_LISTMOUNT_BPF] = { "scan-listmount-bpf", "holder_scan, listmount, BPF walk, mounts only" },
        [M_SCAN_MOUNTINFO_FILES] = { "files-mountinfo", "holder_scan, mountinfo, with file scan" },
        [M_SCAN_LISTMOUNT_FILES] = { "files-listmount", "holder_scan, listmount, with file scan" },
        [M_SCAN_LISTMOUNT_BPF_FILES] = { "files-listmount-bpf", "holder_scan, listmount, BPF walk, with file scan" },
        [M_CTL] = { "ctl", "`dmwardenctl holders DEV --json --walk=proc`" },
        [M_CTL_BPF] = { "ctl-bpf", "`dmwardenctl holders DEV --json --walk=bpf`" },
};

static void run_method(Method m, const Params *p, const World *w, Run *r) {
        char cmd[512];

        switch (m) {
        case M_GREP:
                snprintf(cmd, sizeof(cmd), "grep -l -F -e ' %u:%u ' /proc/[0-9]*/mountinfo 2>/dev/null",
                         major(w->dev), minor(w->dev));
                return run_command(cmd, r);
        case M_FUSER:
                snprintf(cmd, sizeof(cmd), "fuser -m %s 2>/dev/null", w->node);
                return run_command(cmd, r);
        case M_LSOF:
                snprintf(cmd, sizeof(cmd), "lsof -w %s 2>/dev/null", w->node);
                return run_command(cmd, r);
        case M_FLOOR:
                return run_floor(floor_readlink, r);
        case M_FLOOR_FD:
                return run_floor(floor_fd_dirs, r);
        case M_BPF_LOAD:
                return run_task_walk_load(r);
        case M_FLOOR_BPF:
                return run_task_walk(p, w, r);
        case M_SCAN_MOUNTINFO:
                return run_scan(w, MOUNT_SOURCE_MOUNTINFO, NULL, false, r);
        case M_SCAN_LISTMOUNT:
                return run_scan(w, MOUNT_SOURCE_LISTMOUNT, NULL, false, r);
        case M_SCAN_LISTMOUNT_BPF:
                return run_scan(w, MOUNT_SOURCE_LISTMOUNT, p->task_walk, false, r);
        case M_SCAN_MOUNTINFO_FILES:
                return run_scan(w, MOUNT_SOURCE_MOUNTINFO, NULL, true, r);
        case M_SCAN_LISTMOUNT_FILES:
                return run_scan(w, MOUNT_SOURCE_LISTMOUNT, NULL, true, r);
        case M_SCAN_LISTMOUNT_BPF_FILES:
                return run_scan(w, MOUNT_SOURCE_LISTMOUNT, p->task_walk, true, r);
        case M_CTL:
        case M_CTL_BPF:
                /* The walk named either way: auto, the default, takes BPF. */
                snprintf(cmd, sizeof(cmd), "exec %s holders %s --json --walk=%s 2>/dev/null", p->dmwardenctl,
                         w->node, m == M_CTL ? "proc" : "bpf");
                return run_command(cmd, r);
        default:
                abort();
        }
}

/* Runs a method R times; prints its row. Returns its median. */
static double report(Method m, const Params *p, const World *w, double floor_ms, double grep_ms) {
        unsigned n = p->repeat < 64 ? p->repeat : 64, found = 0;
        double t[64], cpu[64], median;
        long maxrss = -1;
        char ratio[32] = "-", faster[32] = "-", rss[32] = "-";

        for (unsigned i = 0; i < n; i++) {
                Run r = {};

                run_method(m, p, w, &r);
                t[i] = r.ms;
                cpu[i] = r.cpu_ms;
                if (r.maxrss_kib > maxrss)
                        maxrss = r.maxrss_kib;
                if (i == 0)
                        found = method_is_floor(m) ? 0 : holders_found(w, r.out);
                if (i == 0 && getenv("BENCH_DEBUG"))
                        fprintf(stderr, "%s:\n%.2000s\n", methods[m].name, r.out);
                free(r.out);
        }
        qsort(t, n, sizeof(double), cmp_double);
        qsort(cpu, n, sizeof(double), cmp_double);
        median = t[n / 2];
        if (floor_ms > 0)
                snprintf(ratio, sizeof(ratio), "%.1f", median / floor_ms);
        if (grep_ms > 0)
                snprintf(faster, sizeof(faster), "%.0f", grep_ms / median);
        if (maxrss >= 0)
                snprintf(rss, sizeof(rss), "%.1f", (double) maxrss / 1024.0);
        printf("| %s | %.1f | %.1f | %.1f | %s | %s | %s |", methods[m].title, median, t[0], cpu[n / 2], ratio, faster,
               rss);
        for (unsigned h = 0; h < _HOLDER_MAX; h++)
                printf(" %s |", method_is_floor(m) ? "-" : found & (1U << h) ? "yes" : "no");
        printf("\n");
        fflush(stdout);
        return median;
}

static void usage(void) {
        fprintf(stderr, "Usage: bench-holders [--processes N] [--namespaces M] [--mounts K] [--repeat R]\n"
                        "                     [--dmwardenctl PATH] [--skip METHOD,...] [--mapped] [--hold]\n"
                        "Methods: grep fuser lsof floor fd-floor bpf-load bpf-floor scan-mountinfo\n"
                        "         scan-listmount scan-listmount-bpf files-mountinfo files-listmount\n"
                        "         files-listmount-bpf ctl ctl-bpf\n");
}

/* The task walk the BPF rows share; says why there is none. */
static bool bench_open_task_walk(Params *p) {
        _cleanup_free_ char *why = NULL;
        int r;

        r = task_walk_open(&p->task_walk, &why);
        if (r >= 0)
                return true;
        fprintf(stderr, "bench-holders: no BPF task walk, its rows are skipped: %s\n", why ?: strerror(-r));
        return false;
}

static bool in_list(const char *list, const char *name) {
        size_t l = strlen(name);

        for (const char *p = list; (p = strstr(p, name)); p += l)
                if ((p == list || p[-1] == ',') && (p[l] == ',' || p[l] == 0))
                        return true;
        return false;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "processes", required_argument, NULL, 'n' },
                { "namespaces", required_argument, NULL, 'm' },
                { "mounts", required_argument, NULL, 'k' },
                { "repeat", required_argument, NULL, 'r' },
                { "dmwardenctl", required_argument, NULL, 'c' },
                { "skip", required_argument, NULL, 's' },
                { "hold", no_argument, NULL, 'h' },
                { "mapped", no_argument, NULL, 'M' },
                {},
        };
        Params p = { .processes = 1000, .namespaces = 10, .mounts = 100, .repeat = 5 };
        bool hold = false;
        double floor_ms = 0, grep_ms = 0;
        bool skip[_M_MAX] = {};
        cpu_set_t all_cpus, one_cpu;
        World w = {};
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n': p.processes = (unsigned) atoi(optarg); break;
                case 'm': p.namespaces = (unsigned) atoi(optarg); break;
                case 'k': p.mounts = (unsigned) atoi(optarg); break;
                case 'r': p.repeat = (unsigned) atoi(optarg); break;
                case 'c': p.dmwardenctl = optarg; break;
                case 's':
                        for (Method m = 0; m < _M_MAX; m++)
                                skip[m] = skip[m] || in_list(optarg, methods[m].name);
                        break;
                case 'h':
                        hold = true;
                        break;
                case 'M':
                        p.mapped = true;
                        break;
                default:
                        usage();
                        return 2;
                }
        /* Namespaces 0, 1 and 2 hold the leaked, pinned and fd holders. */
        if (p.namespaces < 3 || p.processes < p.namespaces || p.mounts == 0 || p.repeat == 0) {
                usage();
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-holders: needs root (namespaces, mounts, loop devices)\n");
                return 77;
        }
        if (!p.dmwardenctl)
                skip[M_CTL] = skip[M_CTL_BPF] = true;
        if (!mount_source_listmount_supported())
                skip[M_SCAN_LISTMOUNT] = skip[M_SCAN_LISTMOUNT_FILES] = skip[M_SCAN_LISTMOUNT_BPF] =
                        skip[M_SCAN_LISTMOUNT_BPF_FILES] = true;

        /* Ctrl-C must end us even when a shell started us ignoring it;
         * dying is all the cleanup there is (see the top of this file). */
        signal(SIGINT, SIG_DFL);
        /* Orphans of the world come to us, so every PID is reaped at exit. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        /* Linux 6.18 hands out namespace ids in per-CPU batches and refuses
         * an nsfs bind mount of a namespace whose id is not above that of
         * the namespace the mount goes into: the bench's namespace and the
         * ghost's must be made on one CPU for the ghost's pin to work. */
        if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) < 0)
                die("sched_getaffinity");
        CPU_ZERO(&one_cpu);
        CPU_SET(sched_getcpu(), &one_cpu);
        if (sched_setaffinity(0, sizeof(one_cpu), &one_cpu) < 0)
                die("sched_setaffinity");
        enter_private_namespace(&w);
        make_loop(&w);
        build_world(&p, &w);
        w.loop_fd = safe_close(w.loop_fd); /* only the four holders keep it now */
        if (sched_setaffinity(0, sizeof(all_cpus), &all_cpus) < 0)
                die("sched_setaffinity");

        if (hold) {
                /* For profiling by hand: the world stays until stdin ends. */
                fprintf(stderr, "world ready: %s (%u:%u); the bench's namespace is /proc/%d/ns/mnt; "
                        "close stdin to end\n", w.node, major(w.dev), minor(w.dev), (int) getpid());
                while (getchar() != EOF)
                        ;
                memset(skip, true, sizeof(skip));
        }
        /* One task walk for all BPF rows, loaded before any is timed, as a
         * long-lived scanner would (dmwardenctl loads it on every run; the
         * daemon's scans do not use it yet). */
        if (!bench_open_task_walk(&p))
                for (Method m = 0; m < _M_MAX; m++)
                        skip[m] = skip[m] || method_needs_task_walk(m);
        printf("| method | median ms | min ms | CPU ms | x floor | grep / this | peak RSS MiB |");
        for (unsigned h = 0; h < _HOLDER_MAX; h++)
                printf(" %s |", holder_names[h]);
        printf("\n|---|---:|---:|---:|---:|---:|---:|---|---|---|---|\n");
        fflush(stdout);
        /* The baselines first: the ratios of the rest need them. */
        if (!skip[M_FLOOR])
                floor_ms = report(M_FLOOR, &p, &w, 0, 0);
        if (!skip[M_GREP])
                grep_ms = report(M_GREP, &p, &w, floor_ms, 0);
        for (Method m = 0; m < _M_MAX; m++)
                if (!skip[m] && m != M_FLOOR && m != M_GREP)
                        (void) report(m, &p, &w, floor_ms, grep_ms);

        /* Tear down: a leader's death takes its children (PDEATHSIG), then
         * the namespace, its mounts, and at last the loop device. As the
         * subreaper we reap every one of them. */
        for (unsigned i = 0; i < p.namespaces; i++)
                (void) kill(w.leaders[i], SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        task_walk_unref(p.task_walk);
        (void) umount2(w.pin, MNT_DETACH);
        (void) umount2(w.root, MNT_DETACH);
        (void) rmdir(w.root);
        free(w.leaders);
        return 0;
}
