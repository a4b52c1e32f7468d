/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The holder scanner against the real kernel: one test world per kind of
 * reference, each scanned through every mount-table source this kernel
 * has (so the mountinfo fallback the 6.1 VM relies on is exercised too),
 * with and without the file scan, and the exact set of holders asserted.
 *
 * Every scan runs twice, once finding processes through /proc and once
 * through the kernel's BPF task walk, and the two reports must be the same
 * (assert_walks_agree), so every kind of holder below is a differential
 * test of the two walks; a random world of all kinds ends the file.
 *
 * Every world lives in a private mount namespace of the test process, on
 * a tmpfs of its own: when a test fails or times out, its process dies,
 * its children die with it (PR_SET_PDEATHSIG), their namespaces and
 * mounts go with them, and the loop device auto-clears. Nothing is left
 * but an empty directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/loop.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl-run.h"
#include "holders/holder-scan.h"
#include "holders/holders-format.h"
#include "holders/proc-util.h"
#include "holders/task-walk.h"
#include "loop-util.h"

typedef struct World {
        TestLoop loop;
        char root[64];       /* a tmpfs in our private namespace */
        char dir[80];        /* where the device gets mounted */
        char bind_dir[80];   /* a second place for it */
        char pin[80];        /* an nsfs bind mount, if any */
        pid_t children[64];
        size_t n_children;
} World;

static void world_new(World *w) {
        cpu_set_t cpu;

        *w = (World) { .loop.fd = -1 };
        /* Linux 6.18 hands out namespace ids in per-CPU batches, and refuses
         * an nsfs bind mount of a namespace whose id is not above that of
         * the namespace the mount goes into (its loop check). Our children
         * make their namespaces after ours: on the same CPU, their ids are
         * higher, on another, maybe not. */
        CPU_ZERO(&cpu);
        CPU_SET(sched_getcpu(), &cpu);
        cr_assert_eq(sched_setaffinity(0, sizeof(cpu), &cpu), 0);
        /* Whatever the test mounts stays in here and dies with us. */
        cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
        cr_assert_eq(mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL), 0);
        snprintf(w->root, sizeof(w->root), "/tmp/dmwarden-holders-XXXXXX");
        cr_assert_not_null(mkdtemp(w->root));
        cr_assert_eq(mount("dmwarden-test", w->root, "tmpfs", 0, "size=1m"), 0);
        snprintf(w->dir, sizeof(w->dir), "%s/mnt", w->root);
        snprintf(w->bind_dir, sizeof(w->bind_dir), "%s/bind", w->root);
        cr_assert_eq(mkdir(w->dir, 0755), 0);
        cr_assert_eq(mkdir(w->bind_dir, 0755), 0);
        test_loop_new(&w->loop, 16);
}

static void world_free(World *w) {
        for (size_t i = 0; i < w->n_children; i++) {
                (void) kill(w->children[i], SIGKILL);
                (void) waitpid(w->children[i], NULL, 0);
        }
        if (w->pin[0])
                (void) umount2(w->pin, MNT_DETACH);
        (void) umount2(w->dir, MNT_DETACH);
        test_loop_release(&w->loop);
        /* Nothing may keep the device: not the scan, not a stray pin. */
        cr_assert(wait_device_free(w->loop.node, 10000), "%s still busy after the test", w->loop.node);
        (void) umount2(w->root, MNT_DETACH);
        (void) rmdir(w->root);
}

/* A child's setup; returns a TID to tell the test (or 0), exits with a
 * distinct code where it fails. */
typedef pid_t (*child_setup_t)(const World *w);

/* Runs setup in a child that then waits to be killed; returns its PID once
 * setup is done, and what setup returned in *ret_tid. */
static pid_t spawn_tid(World *w, child_setup_t setup, pid_t *ret_tid) {
        pid_t pid, tid = 0;
        int p[2];

        cr_assert_lt(w->n_children, ELEMENTSOF(w->children));
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[0]);
                close(w->loop.fd); /* ours, not a holder's */
                tid = setup(w);
                if (write(p[1], &tid, sizeof(tid)) != sizeof(tid))
                        _exit(99);
                for (;;)
                        pause();
        }
        close(p[1]);
        w->children[w->n_children++] = pid;
        if (read(p[0], &tid, sizeof(tid)) != sizeof(tid)) {
                int status = 0;

                (void) waitpid(pid, &status, 0);
                w->n_children--;
                cr_assert_fail("child setup failed with status %d", WEXITSTATUS(status));
        }
        close(p[0]);
        if (ret_tid)
                *ret_tid = tid;
        return pid;
}

static pid_t spawn(World *w, child_setup_t setup) {
        return spawn_tid(w, setup, NULL);
}

static void kill_child(World *w, pid_t pid) {
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        for (size_t i = 0; i < w->n_children; i++)
                if (w->children[i] == pid)
                        w->children[i] = w->children[--w->n_children];
}

/* ---- the children ---- */

static void enter_ns(unsigned long propagation) {
        if (unshare(CLONE_NEWNS) < 0)
                _exit(10);
        if (mount(NULL, "/", NULL, propagation | MS_REC, NULL) < 0)
                _exit(11);
}

/* A namespace of its own, whose mounts never reach ours, with the device
 * mounted on w->dir. */
static void enter_ns_and_mount(const World *w) {
        enter_ns(MS_SLAVE);
        /* A copy of a mount of ours there (the random world) goes first:
         * the kernel refuses a filesystem on top of itself. */
        (void) umount2(w->dir, MNT_DETACH);
        if (mount(w->loop.node, w->dir, "ext4", 0, NULL) < 0)
                _exit(12);
}

static pid_t child_mount(const World *w) {
        enter_ns_and_mount(w);
        return 0;
}

/* `unshare -m` while we have the device mounted: a private copy. */
static pid_t child_unshare_private(const World *w) {
        enter_ns(MS_PRIVATE);
        return 0;
}

/* The same, and a bind mount of the copy elsewhere inside. */
static pid_t child_unshare_private_and_bind(const World *w) {
        enter_ns(MS_PRIVATE);
        if (mount(w->dir, w->bind_dir, NULL, MS_BIND, NULL) < 0)
                _exit(20);
        return 0;
}

/* Two members: the root one and its child, in the same namespace. */
static pid_t child_mount_and_fork(const World *w) {
        pid_t pid, parent = getpid();

        enter_ns_and_mount(w);
        pid = fork();
        if (pid < 0)
                _exit(30);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                /* A parent killed before the line above sends no signal:
                 * without this, a loaded machine keeps us, the namespace
                 * and the device forever. */
                if (getppid() != parent)
                        _exit(0);
                for (;;)
                        pause();
        }
        return 0;
}

/* The leak the design is about: a mount detached from every table, kept
 * alive by a working directory inside it. */
static pid_t child_cwd_detached(const World *w) {
        enter_ns_and_mount(w);
        if (chdir(w->dir) < 0)
                _exit(20);
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(21);
        return 0;
}

static pid_t child_open_node(const World *w) {
        if (open(w->loop.node, O_RDONLY) < 0) /* stays open */
                _exit(20);
        return 0;
}

static pid_t child_open_file(const World *w) {
        char path[128];

        enter_ns_and_mount(w);
        snprintf(path, sizeof(path), "%s/held-file", w->dir);
        if (open(path, O_RDWR | O_CREAT, 0600) < 0) /* stays open */
                _exit(20);
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(21);
        return 0;
}

static pid_t child_map_file(const World *w) {
        char path[128];
        void *p;
        int fd;

        enter_ns_and_mount(w);
        snprintf(path, sizeof(path), "%s/mapped-file", w->dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, 4096) < 0)
                _exit(20);
        p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                _exit(21);
        close(fd); /* only the mapping holds it now */
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(22);
        return 0;
}

static pid_t child_chroot(const World *w) {
        enter_ns_and_mount(w);
        if (chroot(w->dir) < 0 || chdir("/") < 0)
                _exit(20);
        return 0;
}

/* A loop device whose backing file lives on the device. */
static pid_t child_loop_on_file(const World *w) {
        struct loop_config config = { .info.lo_flags = LO_FLAGS_AUTOCLEAR };
        char path[128], node[32];
        int backing, control, n, loop;

        enter_ns_and_mount(w);
        snprintf(path, sizeof(path), "%s/image", w->dir);
        backing = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (backing < 0 || ftruncate(backing, 1 << 20) < 0)
                _exit(20);
        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        for (int attempt = 0; attempt < 10; attempt++) {
                n = ioctl(control, LOOP_CTL_GET_FREE);
                snprintf(node, sizeof(node), "/dev/loop%d", n);
                loop = open(node, O_RDWR | O_CLOEXEC);
                config.fd = (unsigned) backing;
                if (loop >= 0 && ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
                        close(backing);
                        close(control);
                        return 0; /* loop stays open: autoclear keeps it bound */
                }
                if (loop >= 0)
                        close(loop);
        }
        _exit(21);
}

/* A second thread that does something alone, then sleeps forever. */
typedef struct ThreadSetup {
        const World *world;
        void (*setup)(const World *w);
        int ready[2];
} ThreadSetup;

static void *run_thread(void *arg) {
        ThreadSetup *t = arg;
        pid_t tid = gettid();

        t->setup(t->world);
        if (write(t->ready[1], &tid, sizeof(tid)) != sizeof(tid))
                _exit(41);
        for (;;)
                pause();
}

static pid_t in_second_thread(const World *w, void (*setup)(const World *w)) {
        static ThreadSetup t; /* the child's own copy; the thread outlives this frame */
        pthread_t thread;
        pid_t tid;

        t = (ThreadSetup) { .world = w, .setup = setup };
        if (pipe(t.ready) < 0 || pthread_create(&thread, NULL, run_thread, &t) != 0)
                _exit(40);
        if (read(t.ready[0], &tid, sizeof(tid)) != sizeof(tid))
                _exit(42);
        return tid;
}

/* unshare(CLONE_NEWNS) in a thread moves that thread alone. */
static void thread_mount(const World *w) {
        enter_ns_and_mount(w);
}

static pid_t child_thread_in_own_namespace(const World *w) {
        return in_second_thread(w, thread_mount);
}

/* The device mounted in a namespace of our own, a second thread that
 * takes something of its own there, then the mount detached: only what
 * that thread holds keeps the device. */
static pid_t detach_after_thread(const World *w, void (*setup)(const World *w)) {
        pid_t tid;

        enter_ns_and_mount(w);
        tid = in_second_thread(w, setup);
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(44);
        return tid;
}

/* A cwd of its own (unshare(CLONE_FS)). */
static void thread_chdir(const World *w) {
        if (unshare(CLONE_FS) < 0 || chdir(w->dir) < 0)
                _exit(43);
}

static pid_t child_thread_with_own_cwd(const World *w) {
        return detach_after_thread(w, thread_chdir);
}

/* An fd table of its own (unshare(CLONE_FILES)), with a file open. */
static void thread_open_file(const World *w) {
        char path[128];

        snprintf(path, sizeof(path), "%s/thread-file", w->dir);
        if (unshare(CLONE_FILES) < 0 || open(path, O_RDWR | O_CREAT, 0600) < 0)
                _exit(45);
}

static pid_t child_thread_with_own_files(const World *w) {
        return detach_after_thread(w, thread_open_file);
}

/* A process whose main thread exits (on SIGUSR1, which the test sends once
 * set up) while a second thread lives on: /proc/PID then shows nothing of
 * it, yet its file on a detached mount stays open. */
static void exit_main_thread(int sig) {
        pthread_exit(NULL);
}

static void thread_idle(const World *w) {
}

static pid_t child_main_thread_exits(const World *w) {
        struct sigaction sa = { .sa_handler = exit_main_thread };
        sigset_t usr1;
        pid_t tid;

        (void) child_open_file(w);
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        /* The second thread is born with SIGUSR1 blocked: it goes to main. */
        if (sigaction(SIGUSR1, &sa, NULL) < 0 || sigprocmask(SIG_BLOCK, &usr1, NULL) < 0)
                _exit(50);
        tid = in_second_thread(w, thread_idle);
        if (sigprocmask(SIG_UNBLOCK, &usr1, NULL) < 0)
                _exit(51);
        return tid;
}

/* ---- scanning and what to expect ---- */

static uint64_t mntns_of(pid_t pid) {
        uint64_t ino = 0;

        cr_assert_eq(proc_read_mntns(AT_FDCWD, pid, &ino), 0);
        return ino;
}

/* The BPF task walk, or NULL where it cannot load: then said, and a
 * failure where every suite must run (DMWARDEN_REQUIRE_ALL=1, as in CI). */
static TaskWalk *open_task_walk(void) {
        _cleanup_free_ char *why = NULL;
        TaskWalk *tw = NULL;
        const char *require = getenv("DMWARDEN_REQUIRE_ALL");
        int r;

        r = task_walk_open(&tw, &why);
        if (r >= 0)
                return tw;
        if (require && strcmp(require, "1") == 0)
                cr_assert_fail("the BPF task walk cannot load here (%s): the walks cannot be compared", why);
        cr_log_warn("BPF task walk not available (%s): only the /proc walk is tested", why);
        return NULL;
}

/* A report as JSON, less what two scans of a busy machine may see
 * differently: timings, counts of every process and namespace of the
 * host, the walk's name, and the members of our own namespace (every
 * process of the host). */
static char *stable_json(const HolderScan *s) {
        HolderScan c = *s;
        _cleanup_free_ HolderNamespace *ns = NULL;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        ns = calloc(s->n_namespaces ?: 1, sizeof(HolderNamespace));
        cr_assert_not_null(ns);
        for (size_t i = 0; i < s->n_namespaces; i++) {
                ns[i] = s->namespaces[i];
                if (ns[i].ino == s->self_mntns)
                        ns[i].n_members = ns[i].n_threads = 0;
        }
        c.namespaces = ns;
        c.walk = HOLDER_WALK_AUTO;
        c.duration_usec = 0;
        c.n_processes = c.n_processes_inaccessible = c.n_processes_vanished = 0;
        c.n_namespaces_scanned = c.n_namespaces_inaccessible = c.n_namespaces_cleared = 0;
        f = open_memstream(&text, &size);
        cr_assert_not_null(f);
        cr_assert_eq(holders_print_json(f, &c, "device"), 0);
        cr_assert_eq(fclose(f), 0);
        return text;
}

/* The same report from both walks; by = the BPF walk's. */
static void assert_walks_agree(const HolderScan *by_proc, const HolderScan *by_bpf, const char *what) {
        _cleanup_free_ char *a = stable_json(by_proc), *b = stable_json(by_bpf);

        cr_assert_eq(by_proc->walk, HOLDER_WALK_PROC, "%s", what);
        cr_assert_eq(by_bpf->walk, HOLDER_WALK_BPF, "%s: the BPF walk did not run", what);
        if (strcmp(a, b) != 0) {
                cr_log_error("%s: by /proc: %s", what, a);
                cr_log_error("%s: by BPF:   %s", what, b);
        }
        cr_assert_str_eq(b, a, "%s: the BPF walk's report differs from /proc's", what);
}

static HolderScan *scan_walk(const World *w, MountSource source, bool files, TaskWalk *tw) {
        HolderScanOptions o = { .dev = w->loop.devnum, .source = source, .scan_files = files,
                                .walk = tw ? HOLDER_WALK_BPF : HOLDER_WALK_PROC, .task_walk = tw };
        HolderScan *s = NULL;
        int r;

        r = holder_scan(&o, &s);
        cr_assert_eq(r, 0, "holder_scan(%s, %s walk): %s", mount_source_to_string(source),
                     holder_walk_to_string(o.walk), strerror(-r));
        return s;
}

/* A scan through /proc, checked against the BPF walk's of the same world. */
static HolderScan *scan(const World *w, MountSource source, bool files) {
        _cleanup_(task_walk_unrefp) TaskWalk *tw = open_task_walk();
        HolderScan *s = scan_walk(w, source, files, NULL);

        if (tw) {
                _cleanup_(holder_scan_freep) HolderScan *b = scan_walk(w, source, files, tw);
                char what[64];

                snprintf(what, sizeof(what), "%s%s", mount_source_to_string(source), files ? " with files" : "");
                assert_walks_agree(s, b, what);
        }
        if (source != MOUNT_SOURCE_AUTO)
                cr_assert_eq(s->source, source);
        cr_assert_eq(s->files_scanned, files);
        cr_assert_gt(s->n_processes, 0);
        cr_assert_leq(s->n_processes_inaccessible + s->n_processes_vanished, s->n_processes);
        return s;
}

/* One namespace a scan must report, and how much of it. */
typedef struct Expect {
        uint64_t ino;
        const char *mounts[3];   /* exactly these mount points, in order */
        size_t n_members, n_threads, n_processes, n_pins;
} Expect;

static const HolderNamespace *find_ns(const HolderScan *s, uint64_t ino) {
        for (size_t i = 0; i < s->n_namespaces; i++)
                if (s->namespaces[i].ino == ino)
                        return &s->namespaces[i];
        return NULL;
}

/* The scan reports exactly these namespaces (nothing stacked), each
 * exactly as expected. With files scanned, we are a holder too: the test
 * keeps the device node open (TestLoop), so expect our namespace as well,
 * with self_members processes of which we alone hold something. */
static void assert_exact(const HolderScan *s, const char *what, const Expect *expect, size_t n, size_t self_members) {
        size_t n_expected = n + (s->files_scanned ? 1 : 0);

        cr_assert_eq(s->n_namespaces, n_expected, "%s: %zu namespaces reported, %zu expected", what,
                     s->n_namespaces, n_expected);
        cr_assert_eq(s->n_stacked, 0, "%s: nothing is stacked on it", what);
        for (size_t i = 0; i < n; i++) {
                const HolderNamespace *ns = find_ns(s, expect[i].ino);
                size_t m = 0;

                cr_assert_not_null(ns, "%s: namespace %zu (%llu) not reported", what, i,
                                   (unsigned long long) expect[i].ino);
                for (; expect[i].mounts[m]; m++)
                        cr_assert(ns->mount_points[m] && strcmp(ns->mount_points[m], expect[i].mounts[m]) == 0,
                                  "%s: mount point %zu: %s, expected %s", what, m, ns->mount_points[m],
                                  expect[i].mounts[m]);
                cr_assert_null(ns->mount_points[m], "%s: unexpected mount point %s", what, ns->mount_points[m]);
                cr_assert_eq(ns->n_members, expect[i].n_members, "%s: %zu members", what, ns->n_members);
                cr_assert_eq(ns->n_threads, expect[i].n_threads, "%s: %zu threads", what, ns->n_threads);
                cr_assert_eq(ns->n_processes, expect[i].n_processes, "%s: %zu processes named", what,
                             ns->n_processes);
                cr_assert_eq(ns->n_pins, expect[i].n_pins, "%s: %zu pins", what, ns->n_pins);
        }
        if (s->files_scanned) {
                const HolderNamespace *ours = find_ns(s, s->self_mntns);

                cr_assert_not_null(ours, "%s: our open device node missed", what);
                cr_assert_eq(ours->n_members, self_members, "%s: %zu in our namespace", what, ours->n_members);
                cr_assert_null(ours->mount_points[0], "%s: our namespace does not mount it", what);
        }
}

static const Holder *find_process(const HolderScan *s, pid_t pid, pid_t tid) {
        for (size_t i = 0; i < s->n_namespaces; i++)
                for (size_t j = 0; j < s->namespaces[i].n_processes; j++)
                        if (s->namespaces[i].processes[j].pid == pid && s->namespaces[i].processes[j].tid == tid)
                                return &s->namespaces[i].processes[j];
        return NULL;
}

static const HolderRef *find_ref(const Holder *h, HolderRefKind kind) {
        for (size_t i = 0; h && i < h->n_refs; i++)
                if (h->refs[i].kind == kind)
                        return &h->refs[i];
        return NULL;
}

/* A process that holds through its namespace only: named as its root
 * member, whose parent (us) is elsewhere. */
static void assert_root_member(const HolderScan *s, const char *what, pid_t pid, pid_t tid) {
        const Holder *h = find_process(s, pid, tid);

        cr_assert_not_null(h, "%s: PID %d (TID %d) not named", what, (int) pid, (int) tid);
        cr_assert(h->root_member, "%s: its parent is in another namespace", what);
        cr_assert_eq(h->ppid, getpid(), "%s", what);
        cr_assert_not_null(h->comm, "%s", what);
        cr_assert_eq(h->n_refs, 0, "%s: it holds no files", what);
}

/* Our own hold on the device node, which every file scan reports. */
static void assert_self_holds_node(const HolderScan *s, const World *w) {
        const HolderRef *ref = find_ref(find_process(s, getpid(), 0), HOLDER_REF_DEVICE_NODE);

        cr_assert_not_null(ref, "open device node missed");
        cr_assert_eq(ref->fd, w->loop.fd);
        cr_assert_str_eq(ref->path, w->loop.node);
}

/* What a check needs to know of the world it scans. */
typedef struct Scene {
        pid_t pid;               /* the holding child */
        pid_t tid;               /* its holding thread, or 0 */
        uint64_t ino;            /* the namespace that holds */
        bool bind;               /* a bind mount on w->bind_dir too */
        int fd;                  /* our fd that pins the namespace */
} Scene;

typedef void (*check_t)(const World *w, MountSource src, bool files, const char *what, const Scene *m);

/* Runs check on one world through every source this kernel offers
 * (mountinfo always), with and without the file scan. */
static void for_each_scan(const World *w, check_t check, const Scene *m) {
        static const MountSource sources[] = { MOUNT_SOURCE_MOUNTINFO, MOUNT_SOURCE_LISTMOUNT };

        if (!mount_source_listmount_supported())
                cr_log_warn("listmount()/NS_MNT_GET_NEXT not available: only the mountinfo path is tested");
        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                for (int files = 0; files < 2; files++) {
                        char what[64];

                        if (sources[i] == MOUNT_SOURCE_LISTMOUNT && !mount_source_listmount_supported())
                                continue;
                        snprintf(what, sizeof(what), "%s%s", mount_source_to_string(sources[i]),
                                 files ? " with files" : "");
                        check(w, sources[i], files, what, m);
                }
}

/* ---- one test per kind of holder ---- */

/* A world with one child made by setup, scanned every way by check. */
static void run_scene(child_setup_t setup, check_t check) {
        Scene m = {};
        World w;

        world_new(&w);
        m.pid = spawn_tid(&w, setup, &m.tid);
        m.ino = mntns_of(m.tid > 0 ? m.tid : m.pid);
        for_each_scan(&w, check, &m);
        world_free(&w);
}


static void check_copy(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        Expect e = { .ino = m->ino, .mounts = { w->dir, m->bind ? w->bind_dir : NULL }, .n_members = 1,
                     .n_processes = 1 };

        assert_exact(s, what, &e, 1, 1);
        assert_root_member(s, what, m->pid, 0);
        if (src == MOUNT_SOURCE_LISTMOUNT)
                cr_assert_neq(find_ns(s, m->ino)->id, 0, "listmount knows the namespace id");
        if (files)
                assert_self_holds_node(s, w);
}

/* `unshare -m` kept a copy of the mount after the host unmounted it. */
static void test_copy_kept(child_setup_t setup, bool bind) {
        Scene m = { .bind = bind };
        World w;

        world_new(&w);
        cr_assert_eq(mount(w.loop.node, w.dir, "ext4", 0, NULL), 0, "mount: %s", strerror(errno));
        m.pid = spawn(&w, setup);
        m.ino = mntns_of(m.pid);
        cr_assert_eq(umount2(w.dir, 0), 0, "the host unmounts: %s", strerror(errno));
        cr_assert(!mountinfo_has_device("/proc/self/mountinfo", w.loop.devnum));

        for_each_scan(&w, check_copy, &m);
        world_free(&w);
}

Test(holder_scan, copy_kept_after_host_unmount, .timeout = 120) {
        test_copy_kept(child_unshare_private, false);
}

Test(holder_scan, copy_kept_and_bind_mounted_elsewhere, .timeout = 120) {
        test_copy_kept(child_unshare_private_and_bind, true);
}

static void check_thread(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        Expect e = { .ino = m->ino, .mounts = { w->dir }, .n_threads = 1, .n_processes = 1 };

        cr_assert_neq(m->tid, m->pid);
        cr_assert_eq(mntns_of(m->pid), mntns_of(0), "the thread moved alone");
        /* The process is in ours, so with files our namespace has it too. */
        assert_exact(s, what, &e, 1, 2);
        cr_assert_eq(find_ns(s, m->ino)->threads[0], m->tid, "%s", what);
        assert_root_member(s, what, m->pid, m->tid);
        cr_assert_null(find_process(s, m->pid, 0), "%s: the process itself holds nothing", what);
}

Test(holder_scan, thread_in_its_own_mount_namespace, .timeout = 120) {
        run_scene(child_thread_in_own_namespace, check_thread);
}

/* The process of m->tid is named, with exactly one reference: kind, of
 * that thread, at path. */
static void check_thread_ref(const World *w, MountSource src, bool files, const char *what, const Scene *m,
                             HolderRefKind kind, const char *path) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        Expect e = { .ino = m->ino, .n_members = 1, .n_processes = 1 };
        const Holder *h;

        cr_assert_eq(mntns_of(m->pid), m->ino, "the thread stayed in its process's namespace");
        if (!files) {
                cr_assert(holder_scan_is_empty(s), "%s: a detached mount is in no table", what);
                return;
        }
        assert_exact(s, what, &e, 1, 1);
        h = find_process(s, m->pid, 0);
        cr_assert_not_null(h, "%s: the process of the thread is not named", what);
        cr_assert_eq(h->n_refs, 1, "%s: only the thread's %s holds, %zu references", what,
                     holder_ref_kind_to_string(kind), h->n_refs);
        cr_assert_eq(h->refs[0].kind, kind, "%s", what);
        cr_assert_eq(h->refs[0].tid, m->tid, "%s: it is the thread's, not the process's", what);
        cr_assert_str_eq(h->refs[0].path, path, "%s", what);
}

static void check_thread_cwd(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        check_thread_ref(w, src, files, what, m, HOLDER_REF_CWD, "/");
}

static void check_thread_fd(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        check_thread_ref(w, src, files, what, m, HOLDER_REF_FD, "/thread-file");
}

Test(holder_scan, thread_with_an_fd_table_of_its_own, .timeout = 120) {
        run_scene(child_thread_with_own_files, check_thread_fd);
}

Test(holder_scan, thread_with_a_cwd_of_its_own, .timeout = 120) {
        run_scene(child_thread_with_own_cwd, check_thread_cwd);
}

/* A namespace no process is in, kept by an nsfs bind mount in ours. */
static void check_pinned_by_mount(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        Expect e = { .ino = m->ino, .mounts = { w->dir }, .n_pins = 1 };
        const HolderNamespace *ns;

        assert_exact(s, what, &e, 1, 1);
        ns = find_ns(s, m->ino);
        cr_assert_eq(ns->pins[0].kind, HOLDER_PIN_MOUNT, "%s", what);
        cr_assert_str_eq(ns->pins[0].path, w->pin, "%s", what);
        cr_assert_eq(ns->pins[0].mntns, s->self_mntns, "%s", what);
}

Test(holder_scan, namespace_pinned_by_bind_mount, .timeout = 120) {
        char nspath[64];
        Scene m = {};
        World w;
        int fd;

        world_new(&w);
        m.pid = spawn(&w, child_mount);
        m.ino = mntns_of(m.pid);
        snprintf(w.pin, sizeof(w.pin), "%s/engine.mnt", w.root);
        fd = open(w.pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int) m.pid);
        cr_assert_eq(mount(nspath, w.pin, NULL, MS_BIND, NULL), 0, "pin: %s", strerror(errno));
        kill_child(&w, m.pid);

        for_each_scan(&w, check_pinned_by_mount, &m);
        world_free(&w);
}

static void check_pinned_by_fd(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        Expect e = { .ino = m->ino, .mounts = { w->dir }, .n_pins = 1 };
        const HolderNamespace *ns;

        /* Open fds are only seen by the file scan. */
        if (!files)
                return;
        s = scan(w, src, files);
        assert_exact(s, what, &e, 1, 1);
        ns = find_ns(s, m->ino);
        cr_assert_eq(ns->pins[0].kind, HOLDER_PIN_FD, "%s", what);
        cr_assert_eq(ns->pins[0].pid, getpid(), "%s", what);
        cr_assert_eq(ns->pins[0].fd, m->fd, "%s", what);
}

Test(holder_scan, namespace_pinned_by_open_fd, .timeout = 120) {
        _cleanup_close_ int fd = -EBADF;
        char nspath[64];
        Scene m = {};
        World w;

        world_new(&w);
        m.pid = spawn(&w, child_mount);
        m.ino = mntns_of(m.pid);
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int) m.pid);
        fd = open(nspath, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        m.fd = fd;
        kill_child(&w, m.pid);

        for_each_scan(&w, check_pinned_by_fd, &m);
        fd = safe_close(fd);
        world_free(&w);
}

static void check_cwd_detached(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        Expect e = { .ino = m->ino, .n_members = 1, .n_processes = 1 };
        const HolderRef *ref;

        /* Invisible to every mount table: exactly why files are scanned. */
        if (!files) {
                cr_assert(holder_scan_is_empty(s), "%s: %zu namespaces reported", what, s->n_namespaces);
                return;
        }
        assert_exact(s, what, &e, 1, 1);
        ref = find_ref(find_process(s, m->pid, 0), HOLDER_REF_CWD);
        cr_assert_not_null(ref, "%s: cwd holder missed", what);
        cr_assert_eq(find_process(s, m->pid, 0)->n_refs, 1, "%s", what);
        cr_assert_str_eq(ref->path, "/", "a detached mount's root is all the kernel can name");
        cr_assert_eq(ref->tid, 0, "%s: the whole process's cwd", what);
}

Test(holder_scan, cwd_in_detached_mount, .timeout = 120) {
        run_scene(child_cwd_detached, check_cwd_detached);
}

static void check_node_open(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        const HolderRef *ref;

        if (!files) {
                cr_assert(holder_scan_is_empty(s), "%s: an open node is in no mount table", what);
                return;
        }
        /* It and we are in our namespace, and both hold the node. */
        assert_exact(s, what, NULL, 0, 2);
        cr_assert_eq(find_ns(s, s->self_mntns)->n_processes, 2, "%s", what);
        assert_self_holds_node(s, w);
        ref = find_ref(find_process(s, m->pid, 0), HOLDER_REF_DEVICE_NODE);
        cr_assert_not_null(ref, "%s: the child's open node missed", what);
        cr_assert_str_eq(ref->path, w->loop.node, "%s", what);
        cr_assert_geq(ref->fd, 0, "%s", what);
}

Test(holder_scan, device_node_held_open, .timeout = 120) {
        run_scene(child_open_node, check_node_open);
}

Test(holder_scan, open_file_mapping_and_root, .timeout = 120) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        const HolderRef *ref;
        pid_t file_pid, map_pid, root_pid;
        World w;

        world_new(&w);
        file_pid = spawn(&w, child_open_file);
        map_pid = spawn(&w, child_map_file);
        root_pid = spawn(&w, child_chroot);
        s = scan(&w, MOUNT_SOURCE_AUTO, true);
        assert_exact(s, "auto with files",
                     (const Expect[]) {
                             { .ino = mntns_of(file_pid), .n_members = 1, .n_processes = 1 },
                             { .ino = mntns_of(map_pid), .n_members = 1, .n_processes = 1 },
                             { .ino = mntns_of(root_pid), .mounts = { w.dir }, .n_members = 1, .n_processes = 1 },
                     },
                     3, 1);

        ref = find_ref(find_process(s, file_pid, 0), HOLDER_REF_FD);
        cr_assert_not_null(ref, "open file missed");
        cr_assert_str_eq(ref->path, "/held-file");
        cr_assert_geq(ref->fd, 0);

        ref = find_ref(find_process(s, map_pid, 0), HOLDER_REF_MAP);
        cr_assert_not_null(ref, "mapping missed");
        cr_assert_str_eq(ref->path, "/mapped-file");
        cr_assert_null(find_ref(find_process(s, map_pid, 0), HOLDER_REF_FD), "its fd was closed");

        cr_assert_not_null(find_ref(find_process(s, root_pid, 0), HOLDER_REF_ROOT), "chroot missed");
        cr_assert_not_null(find_ref(find_process(s, root_pid, 0), HOLDER_REF_CWD));
        assert_self_holds_node(s, &w);

        world_free(&w);
}

Test(holder_scan, loop_device_backed_by_a_file_on_it, .timeout = 120) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        pid_t pid;
        World w;

        world_new(&w);
        pid = spawn(&w, child_loop_on_file);
        s = scan(&w, MOUNT_SOURCE_MOUNTINFO, false);
        cr_assert_eq(s->n_namespaces, 1);
        cr_assert_not_null(find_ns(s, mntns_of(pid)));
        cr_assert_eq(s->n_stacked, 1, "%zu stacked", s->n_stacked);
        cr_assert_eq(s->stacked[0].kind, STACKED_LOOP);
        cr_assert_eq(strncmp(s->stacked[0].name, "loop", 4), 0, "%s", s->stacked[0].name);
        cr_assert_eq(major(s->stacked[0].dev), 7);

        world_free(&w);
}

Test(holder_scan, root_members_and_describe_all, .timeout = 120) {
        _cleanup_(holder_scan_freep) HolderScan *roots = NULL, *all = NULL;
        HolderScanOptions o = { .source = MOUNT_SOURCE_MOUNTINFO };
        const HolderNamespace *ns;
        World w;
        pid_t pid;

        world_new(&w);
        pid = spawn(&w, child_mount_and_fork);
        o.dev = w.loop.devnum;

        cr_assert_eq(holder_scan(&o, &roots), 0);
        assert_exact(roots, "root members", (const Expect[]) { { .ino = mntns_of(pid), .mounts = { w.dir },
                                                                .n_members = 2, .n_processes = 1 } },
                     1, 0);
        ns = find_ns(roots, mntns_of(pid));
        cr_assert_eq(ns->processes[0].pid, pid, "only the root member is named");
        cr_assert(ns->processes[0].root_member);

        o.describe_all = true;
        cr_assert_eq(holder_scan(&o, &all), 0);
        ns = find_ns(all, mntns_of(pid));
        cr_assert_not_null(ns);
        cr_assert_eq(ns->n_processes, 2);
        cr_assert(ns->processes[0].root_member);
        cr_assert(!ns->processes[1].root_member, "the second member's parent is in the namespace");
        cr_assert_eq(ns->processes[1].ppid, pid);

        world_free(&w);
}

/* A loop device nothing is attached to: a real block device that no
 * mount, process or stacked device holds. Made with a high number of its
 * own, as LOOP_CTL_GET_FREE would hand the lowest free one to whoever asks
 * next (other tests on this machine). */
typedef struct UnusedLoop {
        int control;
        int index;
        char node[32];
        dev_t dev;
} UnusedLoop;

static void unused_loop_new(UnusedLoop *l) {
        struct stat st;

        *l = (UnusedLoop) { .control = open("/dev/loop-control", O_RDWR | O_CLOEXEC), .index = -1 };
        cr_assert_geq(l->control, 0);
        for (int n = 4000 + getpid() % 1000; l->index < 0 && n < 6000; n++)
                if (ioctl(l->control, LOOP_CTL_ADD, n) >= 0)
                        l->index = n;
        cr_assert_geq(l->index, 0, "LOOP_CTL_ADD: %s", strerror(errno));
        snprintf(l->node, sizeof(l->node), "/dev/loop%d", l->index);
        cr_assert_eq(stat(l->node, &st), 0, "%s: %s", l->node, strerror(errno));
        l->dev = st.st_rdev;
}

static void unused_loop_free(UnusedLoop *l) {
        if (l->index >= 0)
                (void) ioctl(l->control, LOOP_CTL_REMOVE, l->index);
        l->control = safe_close(l->control);
}

Test(holder_scan, nothing_holds_an_unused_device, .timeout = 60) {
        UnusedLoop l;

        unused_loop_new(&l);
        for (int files = 0; files < 2; files++) {
                _cleanup_(holder_scan_freep) HolderScan *s = NULL;
                HolderScanOptions o = { .dev = l.dev, .scan_files = files };

                cr_assert_eq(holder_scan(&o, &s), 0, "no holders is an answer, not an error");
                cr_assert(holder_scan_is_empty(s), "%s: %zu namespaces, %zu stacked", l.node, s->n_namespaces,
                          s->n_stacked);
                cr_assert_gt(s->n_processes, 0);
        }
        unused_loop_free(&l);
}

/* ---- dmwardenctl holders, as an operator runs it ---- */

Test(dmwardenctl, holders_in_every_source_and_format, .timeout = 120) {
        World w;
        char holder_row[512];
        pid_t pid;

        world_new(&w);
        pid = spawn(&w, child_mount);
        snprintf(holder_row, sizeof(holder_row),
                 "any(h[\"pid\"] == %d and h[\"kind\"] == \"mount\" and h[\"path\"].startswith(\"%s\") "
                 "for h in d[\"holders\"])", (int) pid, w.dir);

        for (size_t i = 0; i < 3; i++) {
                static const char *const source_args[] = { "--source=auto", "--source=mountinfo", "--source=listmount" };
                _cleanup_free_ char *json = NULL, *table = NULL, *summary = NULL;
                int r;

                r = RUN_CTL(0, &json, "holders", w.loop.node, "--json", source_args[i]);
                if (i == 2 && !mount_source_listmount_supported()) {
                        cr_assert_eq(r, 1, "listmount asked for where the kernel lacks it: a scan failure");
                        continue;
                }
                cr_assert_eq(r, 0, "%s: exit %d", source_args[i], r);
                cr_assert(json_check(json, holder_row), "%s: holder %d missing: %s", source_args[i], (int) pid, json);

                cr_assert_eq(RUN_CTL_ERR(0, &table, &summary, "holders", w.loop.node, "--full", "-r", "-o",
                                         "pid,root-member,kind,path", source_args[i]), 0);
                snprintf(holder_row, sizeof(holder_row), "\n%d yes mount %s", (int) pid, w.dir);
                cr_assert(strstr(table, "PID ROOT-MEMBER KIND PATH\n") && strstr(table, holder_row), "%s", table);
                cr_assert(strstr(summary, "open files too"), "--full scans files: %s", summary);
                snprintf(holder_row, sizeof(holder_row),
                         "any(h[\"pid\"] == %d and h[\"kind\"] == \"mount\" and h[\"path\"].startswith(\"%s\") "
                         "for h in d[\"holders\"])", (int) pid, w.dir);
        }
        world_free(&w);
}

Test(dmwardenctl, nothing_holds_is_success, .timeout = 60) {
        _cleanup_free_ char *out = NULL, *err = NULL, *json = NULL;
        char expected[64];
        UnusedLoop l;

        unused_loop_new(&l);
        cr_assert_eq(RUN_CTL_ERR(0, &out, &err, "holders", l.node), 0, "%s", err);
        snprintf(expected, sizeof(expected), "Nothing holds %s (%u:%u).\n", l.node, major(l.dev), minor(l.dev));
        cr_assert_eq(strncmp(err, expected, strlen(expected)), 0, "%s", err);
        cr_assert_str_empty(out, "no rows, and no header over none");
        cr_assert_eq(RUN_CTL(0, &json, "holders", l.node, "--json"), 0, "%s", json);
        cr_assert(json_check(json, "d == {\"holders\": []}"), "%s", json);
        unused_loop_free(&l);
}

/* The exit status and a message on stderr that names the argument and what
 * is wrong (no daemon runs in this suite). */
static void assert_bad_device(const char *arg, int status, const char *reason) {
        _cleanup_free_ char *out = NULL, *err = NULL;
        char expected[256];

        cr_assert_eq(RUN_CTL_ERR(0, &out, &err, "holders", arg), status, "%s: %s", arg, err);
        snprintf(expected, sizeof(expected), "%s: %s", arg, reason);
        cr_assert(strstr(err, expected), "%s: expected \"%s\" in: %s", arg, expected, err);
        cr_assert_null(strstr(out, "Holders of"), "%s", out);
}

Test(dmwardenctl, bad_devices_say_why, .timeout = 60) {
        char file[] = "/tmp/dmwarden-not-a-device-XXXXXX";
        int fd = mkstemp(file);

        cr_assert_geq(fd, 0);
        close(fd);
        assert_bad_device(file, 2, "not a block device (a regular file)");
        (void) unlink(file);
        assert_bad_device("/dev/null", 2, "not a block device (a character device)");
        assert_bad_device("/nonexistent/loop9", 5, "no such file");
        assert_bad_device("999:999", 5, "no such block device (no /sys/dev/block/999:999)");
        /* A bare name may be one the daemon watches: without it, exit 3. */
        assert_bad_device("no-such-name", 3, "no such file in /dev/mapper or /dev");
        /* Digits and a colon mean MAJOR:MINOR; anything else there is a
         * typo, whoever runs. */
        assert_bad_device("7:0x", 2, "not MAJOR:MINOR");
        assert_bad_device("7:", 2, "not MAJOR:MINOR");
        assert_bad_device("4096:0", 2, "not MAJOR:MINOR");
}

/* --full scans here without asking the daemon, so its absence is no
 * reason to give. */
Test(dmwardenctl, a_name_not_here_with_full_is_no_such_device, .timeout = 60) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        cr_assert_eq(RUN_CTL_ERR(0, &out, &err, "holders", "no-such-name", "--full"), 5, "%s", err);
        cr_assert(strstr(err, "no-such-name: no such file in /dev/mapper or /dev"), "%s", err);
        cr_assert_null(strstr(err, "not running"), "%s", err);
}

/* Refused by the parser, before anyone is asked (no daemon runs here: a
 * command that got as far as asking would end with exit 3). */
static void assert_usage_error(const char *const *args, const char *reason) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        cr_assert_eq(run_ctl_err(0, &out, &err, args), 2, "%s %s: %s", args[0], args[1] ?: "", err);
        cr_assert(strstr(err, reason), "%s %s: expected \"%s\" in: %s", args[0], args[1] ?: "", reason, err);
        cr_assert(strstr(err, "Try 'dmwardenctl --help' for more information.\n"), "%s", err);
        cr_assert_str_empty(out);
}

Test(dmwardenctl, options_go_with_their_commands_only, .timeout = 60) {
        static const char *const cases[][4] = {
                { "status", "--full" },          { "status", "--source=mountinfo" }, { "status", "--action=kill" },
                { "list", "--full" },            { "list", "--action=kill" },        { "scan", "--source=auto" },
                { "scan", "--full" },            { "holders", "--action=kill", "/dev/null" },
                { "reap", "--full", "x" },       { "reap", "--source=auto", "x" },
                { "remove", "--full", "x" },     { "remove", "--action=kill", "x" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char expected[64];

                snprintf(expected, sizeof(expected), "%.*s does not go with %s.",
                         (int) strcspn(cases[i][1], "="), cases[i][1], cases[i][0]);
                assert_usage_error(cases[i], expected);
        }
}

/* Table options go with the table commands, and -o names their columns
 * only; checked before anyone is asked. */
Test(dmwardenctl, columns_are_checked_before_asking, .timeout = 60) {
        assert_usage_error((const char *const[]) { "list", "-o", "name,bogus", NULL },
                           "Unknown column \"bogus\"; use one of name, state,");
        assert_usage_error((const char *const[]) { "status", "--output=+pid", NULL }, "Unknown column \"pid\"");
        assert_usage_error((const char *const[]) { "holders", "-o", "name", "/dev/null", NULL },
                           "Unknown column \"name\"; use one of pid, tid, comm,");
        assert_usage_error((const char *const[]) { "reap", "-o", "name", "x", NULL }, "--output does not go with reap.");
        assert_usage_error((const char *const[]) { "remove", "-n", "x", NULL }, "--noheadings does not go with remove.");
        assert_usage_error((const char *const[]) { "reap", "-r", "x", NULL }, "--raw does not go with reap.");
}

Test(dmwardenctl, getopt_errors_point_to_help, .timeout = 60) {
        assert_usage_error((const char *const[]) { "--bogus", NULL }, "unrecognized option '--bogus'");
        assert_usage_error((const char *const[]) { "holders", "--source", NULL }, "requires an argument");
        assert_usage_error((const char *const[]) { "frobnicate", NULL }, "Unknown command \"frobnicate\".");
}

Test(dmwardenctl, exit_statuses, .timeout = 60) {
        _cleanup_free_ char *a = NULL, *b = NULL, *d = NULL, *e = NULL, *f = NULL, *f_err = NULL;
        World w;

        world_new(&w);
        cr_assert_eq(RUN_CTL(0, &a, "--help"), 0);
        cr_assert(strstr(a, "Exit status"));
        cr_assert_eq(RUN_CTL(0, &b, "holders"), 2, "missing DEVICE");
        cr_assert_eq(RUN_CTL(0, &d, "holders", w.loop.node, "--source=magic"), 2);
        cr_assert_eq(RUN_CTL(0, &e, "frobnicate", w.loop.node), 2);
        cr_assert_eq(RUN_CTL_ERR(65534, &f, &f_err, "holders", w.loop.node), 4, "not root");
        cr_assert(strstr(f_err, "needs root"), "%s", f_err);
        world_free(&w);
}

static void check_main_thread_gone(const World *w, MountSource src, bool files, const char *what, const Scene *m) {
        _cleanup_(holder_scan_freep) HolderScan *s = scan(w, src, files);
        Expect e = { .ino = m->ino, .n_members = 1, .n_processes = 1 };
        const HolderNamespace *ns;
        const HolderRef *ref;

        if (!files) {
                cr_assert(holder_scan_is_empty(s), "%s: a detached mount is in no table", what);
                return;
        }
        assert_exact(s, what, &e, 1, 1);
        ns = find_ns(s, m->ino);
        cr_assert_eq(ns->members[0], m->pid, "%s: the process is named by its PID", what);
        ref = find_ref(find_process(s, m->pid, 0), HOLDER_REF_FD);
        cr_assert_not_null(ref, "%s: the open file, seen through the live thread, missed", what);
        cr_assert_str_eq(ref->path, "/held-file", "%s", what);
}

Test(holder_scan, process_whose_main_thread_exited, .timeout = 120) {
        uint64_t ino;
        Scene m = {};
        World w;

        world_new(&w);
        m.pid = spawn_tid(&w, child_main_thread_exits, &m.tid);
        m.ino = mntns_of(m.tid);
        cr_assert_eq(kill(m.pid, SIGUSR1), 0);
        for (int i = 0; i < 1000 && proc_read_mntns(AT_FDCWD, m.pid, &ino) >= 0; i++)
                usleep(2000);
        cr_assert_eq(proc_read_mntns(AT_FDCWD, m.pid, &ino), -ENOENT, "the main thread did not exit");
        cr_assert_eq(mntns_of(m.tid), m.ino, "the second thread lives on");

        for_each_scan(&w, check_main_thread_gone, &m);
        world_free(&w);
}

/* ---- a random world: both walks must agree on everything at once ---- */

/* A process whose executable is on the device: a copy of /bin/sleep run
 * from the mount, which is then detached (the exe alone keeps it). */
static pid_t child_exe_on_device(const World *w) {
        char path[128], exe[PATH_MAX + 1] = "";
        ssize_t n;
        int in, out;
        pid_t pid;

        enter_ns_and_mount(w);
        snprintf(path, sizeof(path), "%s/sleep-%d", w->dir, (int) getpid());
        in = open("/bin/sleep", O_RDONLY | O_CLOEXEC);
        out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (in < 0 || out < 0)
                _exit(60);
        while ((n = read(in, exe, sizeof(exe))) > 0)
                if (write(out, exe, (size_t) n) != n)
                        _exit(61);
        close(in);
        close(out);
        pid = fork();
        if (pid < 0)
                _exit(62);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                execl(path, "sleep", "infinity", (char *) NULL);
                _exit(63);
        }
        /* Until it runs the copy: its exe link then names it. */
        snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
        for (int i = 0; i < 5000; i++) {
                n = readlink(path, exe, sizeof(exe) - 1);
                if (n > 0 && strncmp(exe, w->dir, strlen(w->dir)) == 0)
                        break;
                usleep(1000);
        }
        if (chdir("/") < 0 || umount2(w->dir, MNT_DETACH) < 0)
                _exit(64);
        return 0;
}

/* In a namespace of its own that never had the device: holds nothing. */
static pid_t child_elsewhere(const World *w) {
        enter_ns(MS_PRIVATE);
        if (umount2(w->dir, MNT_DETACH) < 0 && errno != EINVAL)
                _exit(70);
        return 0;
}

static pid_t child_idle(const World *w) {
        return 0;
}

/* The seed: DMWARDEN_TEST_SEED to replay a failure, else the clock. */
static unsigned test_seed(void) {
        const char *e = getenv("DMWARDEN_TEST_SEED");

        return e ? (unsigned) strtoul(e, NULL, 0) : (unsigned) time(NULL);
}

Test(holder_scan, both_walks_agree_on_a_random_world, .timeout = 300) {
        static const struct {
                const char *name;
                child_setup_t setup;
        } kinds[] = {
                { "mount", child_mount },
                { "mount and fork", child_mount_and_fork },
                { "private copy", child_unshare_private },
                { "private copy and bind", child_unshare_private_and_bind },
                { "cwd on a detached mount", child_cwd_detached },
                { "device node open", child_open_node },
                { "file open", child_open_file },
                { "file mapped", child_map_file },
                { "chroot", child_chroot },
                { "exe", child_exe_on_device },
                { "thread in its own namespace", child_thread_in_own_namespace },
                { "thread with its own cwd", child_thread_with_own_cwd },
                { "thread with its own files", child_thread_with_own_files },
                { "elsewhere", child_elsewhere },
                { "idle", child_idle },
        };
        _cleanup_(task_walk_unrefp) TaskWalk *tw = open_task_walk();
        unsigned seed = test_seed(), n;
        World w;

        if (!tw)
                return;  /* said why; a failure where it must run */
        cr_log_info("random world: seed %u (DMWARDEN_TEST_SEED=%u replays it)", seed, seed);
        srand(seed);
        world_new(&w);
        /* The private copies need the device mounted here when they are made. */
        cr_assert_eq(mount(w.loop.node, w.dir, "ext4", 0, NULL), 0, "mount: %s", strerror(errno));
        n = 16 + (unsigned) rand() % 24;
        for (unsigned i = 0; i < n; i++) {
                size_t k = (size_t) rand() % ELEMENTSOF(kinds);

                cr_log_info("child %u: %s", i, kinds[k].name);
                (void) spawn(&w, kinds[k].setup);
        }
        if (rand() % 2)
                cr_assert_eq(umount2(w.dir, 0), 0, "the host unmounts: %s", strerror(errno));

        for (int files = 0; files < 2; files++)
                for (MountSource src = MOUNT_SOURCE_LISTMOUNT; src <= MOUNT_SOURCE_MOUNTINFO; src++) {
                        _cleanup_(holder_scan_freep) HolderScan *p = NULL, *b = NULL;
                        char what[96];

                        if (src == MOUNT_SOURCE_LISTMOUNT && !mount_source_listmount_supported())
                                continue;
                        snprintf(what, sizeof(what), "seed %u, %u children, %s%s", seed, n,
                                 mount_source_to_string(src), files ? " with files" : "");
                        p = scan_walk(&w, src, files, NULL);
                        b = scan_walk(&w, src, files, tw);
                        cr_assert_gt(p->n_namespaces, 0, "%s: the world holds the device", what);
                        assert_walks_agree(p, b, what);
                }
        world_free(&w);
}

/* In a PID namespace of its own the iterators' PIDs and /proc's differ:
 * the walk is not loaded, says why, and a scan reads /proc; asking for the
 * BPF walk by name there is an error, not a silent fallback. */
/* The checks, in a process of a PID namespace of its own: its exit code. */
static int check_walk_in_own_pid_namespace(void) {
        _cleanup_free_ char *why = NULL;
        TaskWalk *tw = NULL;
        HolderScan *s = NULL;
        HolderScanOptions o = { .dev = makedev(7, 0), .source = MOUNT_SOURCE_MOUNTINFO, .walk = HOLDER_WALK_AUTO };

        /* /proc is still the parent namespace's: the check is by the
         * namespace, not by /proc. */
        if (task_walk_open(&tw, &why) != -EOPNOTSUPP || !why || !strstr(why, "PID namespace"))
                return 10;
        if (holder_scan(&o, &s) < 0 || s->walk != HOLDER_WALK_PROC)
                return 11;
        s = holder_scan_free(s);
        o.walk = HOLDER_WALK_BPF;
        if (holder_scan(&o, &s) != -EOPNOTSUPP)
                return 12;
        return 0;
}

Test(holder_scan, no_bpf_walk_outside_the_initial_pid_namespace, .timeout = 60) {
        int status = 0;
        pid_t pid;

        /* A child unshares, so that this process can still make threads
         * (the leak checker of a sanitized build does, at exit); its
         * first child is PID 1 of the new namespace. */
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                pid_t inner;

                if (unshare(CLONE_NEWPID) < 0)
                        _exit(20);
                inner = fork();
                if (inner < 0)
                        _exit(21);
                if (inner == 0)
                        _exit(check_walk_in_own_pid_namespace());
                if (waitpid(inner, &status, 0) != inner || !WIFEXITED(status))
                        _exit(22);
                _exit(WEXITSTATUS(status));
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %d (10: loaded, 11: no /proc walk, 12: bpf by name not refused, 2x: setup)",
                  WEXITSTATUS(status));
}

/* ---- the mount walk ---- */

/* A namespace of its own with nothing of the device: its copy unmounted. */
static pid_t child_unshare_and_unmount(const World *w) {
        enter_ns(MS_PRIVATE);
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(20);
        return 0;
}

/* Namespaces that neither mount the device nor pin a namespace: the BPF
 * mount walk clears them, their tables unread, and the report is the one
 * that reading every table gives (scan() compares). */
Test(holder_scan, mount_walk_clears_namespaces_with_nothing_to_read, .timeout = 120) {
        _cleanup_(task_walk_unrefp) TaskWalk *tw = open_task_walk();
        World w;
        pid_t kept;

        if (!tw)
                return;  /* said by open_task_walk(), a failure in CI */
        cr_assert(task_walk_walks_mounts(tw), "the BPF mount walk does not load on this kernel");
        world_new(&w);
        cr_assert_eq(mount(w.loop.node, w.dir, "ext4", 0, NULL), 0, "mount: %s", strerror(errno));
        kept = spawn(&w, child_unshare_private);
        for (int i = 0; i < 6; i++)
                spawn(&w, child_unshare_and_unmount);
        cr_assert_eq(umount2(w.dir, MNT_DETACH), 0);

        for (MountSource src = MOUNT_SOURCE_LISTMOUNT; src <= MOUNT_SOURCE_MOUNTINFO; src++) {
                _cleanup_(holder_scan_freep) HolderScan *by_proc = NULL, *by_bpf = NULL;
                const HolderNamespace *ns;

                if (src == MOUNT_SOURCE_LISTMOUNT && !mount_source_listmount_supported())
                        continue;
                by_proc = scan(&w, src, false);
                cr_assert_eq(by_proc->n_namespaces_cleared, 0, "the /proc walk has no mount walk");
                by_bpf = scan_walk(&w, src, false, tw);
                /* Ours and the six emptied ones at least; the host's own
                 * namespaces may be cleared too. */
                cr_assert_geq(by_bpf->n_namespaces_cleared, 7, "%s: %u cleared",
                              mount_source_to_string(src), by_bpf->n_namespaces_cleared);
                cr_assert_lt(by_bpf->n_namespaces_cleared, by_bpf->n_namespaces_scanned,
                             "the copy's namespace must be read");
                cr_assert_eq(by_bpf->n_namespaces_scanned, by_proc->n_namespaces_scanned);
                ns = find_ns(by_bpf, mntns_of(kept));
                cr_assert_not_null(ns, "%s: the copy is not reported", mount_source_to_string(src));
                cr_assert_str_eq(ns->mount_points[0], w.dir);
        }
        world_free(&w);
}
