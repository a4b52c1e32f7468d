/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The holder scanner against the real kernel: one test world per kind of
 * reference, each scanned through every mount-table source this kernel
 * has, so the mountinfo fallback the 6.1 VM relies on is exercised too. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/loop.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include "holder-scan.h"
#include "loop-util.h"
#include "proc-util.h"

typedef struct World {
        TestLoop loop;
        char dir[64];        /* where children mount the device */
        char pin_dir[64];    /* a private mount holding nsfs pins */
        pid_t children[4];
        size_t n_children;
} World;

static void world_new(World *w) {
        *w = (World) { .loop.fd = -1 };
        test_loop_new(&w->loop, 16);
        snprintf(w->dir, sizeof(w->dir), "/tmp/dmwarden-holders-XXXXXX");
        cr_assert_not_null(mkdtemp(w->dir));
}

static void world_free(World *w) {
        for (size_t i = 0; i < w->n_children; i++) {
                (void) kill(w->children[i], SIGKILL);
                (void) waitpid(w->children[i], NULL, 0);
        }
        if (w->pin_dir[0]) {
                (void) umount2(w->pin_dir, MNT_DETACH);
                (void) rmdir(w->pin_dir);
        }
        test_loop_release(&w->loop);
        /* Nothing may keep the device: not the scan, not a stray pin. */
        cr_assert(wait_device_free(w->loop.node, 10000), "%s still busy after the test", w->loop.node);
        (void) rmdir(w->dir);
}

typedef void (*child_setup_t)(const World *w);

/* Runs setup in a child that then waits to be killed; returns its PID once
 * setup is done. setup exits with a distinct code where it fails. */
static pid_t spawn(World *w, child_setup_t setup) {
        int p[2];
        pid_t pid;
        char c;

        cr_assert_lt(w->n_children, ELEMENTSOF(w->children));
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[0]);
                setup(w);
                if (write(p[1], "r", 1) != 1)
                        _exit(99);
                for (;;)
                        pause();
        }
        close(p[1]);
        w->children[w->n_children++] = pid;
        if (read(p[0], &c, 1) != 1) {
                int status = 0;

                (void) waitpid(pid, &status, 0);
                w->n_children--;
                cr_assert_fail("child setup failed with status %d", WEXITSTATUS(status));
        }
        close(p[0]);
        return pid;
}

static void kill_child(World *w, pid_t pid) {
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        for (size_t i = 0; i < w->n_children; i++)
                if (w->children[i] == pid)
                        w->children[i] = w->children[--w->n_children];
}

/* A namespace of its own, whose mounts never reach ours, with the device
 * mounted on w->dir. */
static void enter_ns_and_mount(const World *w) {
        if (unshare(CLONE_NEWNS) < 0)
                _exit(10);
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                _exit(11);
        if (mount(w->loop.node, w->dir, "ext4", 0, NULL) < 0)
                _exit(12);
}

static void child_mount(const World *w) {
        enter_ns_and_mount(w);
}

/* Two members: the root one and its child, in the same namespace. */
static void child_mount_and_fork(const World *w) {
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
}

/* The leak the design is about: a mount detached from every table, kept
 * alive by a working directory inside it. */
static void child_cwd_detached(const World *w) {
        enter_ns_and_mount(w);
        if (chdir(w->dir) < 0)
                _exit(20);
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(21);
}

static void child_open_file(const World *w) {
        char path[128];

        enter_ns_and_mount(w);
        snprintf(path, sizeof(path), "%s/held-file", w->dir);
        if (open(path, O_RDWR | O_CREAT, 0600) < 0) /* stays open */
                _exit(20);
        if (umount2(w->dir, MNT_DETACH) < 0)
                _exit(21);
}

static void child_map_file(const World *w) {
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
}

static void child_chroot(const World *w) {
        enter_ns_and_mount(w);
        if (chroot(w->dir) < 0 || chdir("/") < 0)
                _exit(20);
}

/* A loop device whose backing file lives on the device. */
static void child_loop_on_file(const World *w) {
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
                        return; /* loop stays open: autoclear keeps it bound */
                }
                if (loop >= 0)
                        close(loop);
        }
        _exit(21);
}

static uint64_t mntns_of(pid_t pid) {
        _cleanup_close_ int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t ino = 0;

        cr_assert_eq(proc_read_mntns(proc, pid, &ino), 0);
        return ino;
}

static HolderScan *scan(const World *w, MountSource source, bool files) {
        HolderScanOptions o = { .dev = w->loop.devnum, .source = source, .scan_files = files };
        HolderScan *s = NULL;
        int r;

        r = holder_scan(&o, &s);
        cr_assert_eq(r, 0, "holder_scan(%s): %s", mount_source_to_string(source), strerror(-r));
        if (source != MOUNT_SOURCE_AUTO)
                cr_assert_eq(s->source, source);
        cr_assert_gt(s->n_processes, 0);
        cr_assert_leq(s->n_processes_inaccessible + s->n_processes_vanished, s->n_processes);
        return s;
}

static const HolderNamespace *find_ns(const HolderScan *s, uint64_t ino) {
        for (size_t i = 0; i < s->n_namespaces; i++)
                if (s->namespaces[i].ino == ino)
                        return &s->namespaces[i];
        return NULL;
}

static const Holder *find_process(const HolderScan *s, pid_t pid) {
        for (size_t i = 0; i < s->n_namespaces; i++)
                for (size_t j = 0; j < s->namespaces[i].n_processes; j++)
                        if (s->namespaces[i].processes[j].pid == pid)
                                return &s->namespaces[i].processes[j];
        return NULL;
}

static const HolderRef *find_ref(const Holder *h, HolderRefKind kind) {
        for (size_t i = 0; h && i < h->n_refs; i++)
                if (h->refs[i].kind == kind)
                        return &h->refs[i];
        return NULL;
}

static bool has_string(char **l, const char *s) {
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

/* Runs check once per source this kernel offers: mountinfo always. */
static void for_each_source(void (*check)(MountSource source)) {
        check(MOUNT_SOURCE_MOUNTINFO);
        if (mount_source_listmount_supported())
                check(MOUNT_SOURCE_LISTMOUNT);
        else
                cr_log_warn("listmount()/NS_MNT_GET_NEXT not available: only the mountinfo path is tested");
}

static void check_mount_in_another_namespace(MountSource src) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        const HolderNamespace *ns;
        const Holder *h;
        World w;
        pid_t pid;

        world_new(&w);
        pid = spawn(&w, child_mount);
        s = scan(&w, src, false);

        cr_assert_eq(s->n_namespaces, 1, "%s: expected the child's namespace only, got %zu",
                     mount_source_to_string(src), s->n_namespaces);
        ns = find_ns(s, mntns_of(pid));
        cr_assert_not_null(ns, "%s: child's namespace not reported", mount_source_to_string(src));
        cr_assert(has_string(ns->mount_points, w.dir), "%s: mount point %s missing",
                  mount_source_to_string(src), w.dir);
        cr_assert_eq(ns->n_members, 1);
        cr_assert_eq(ns->members[0], pid);
        h = find_process(s, pid);
        cr_assert_not_null(h);
        cr_assert(h->root_member, "its parent (us) is in another namespace");
        cr_assert_eq(h->ppid, getpid());
        cr_assert_not_null(h->comm);
        cr_assert_eq(h->n_refs, 0, "a mount-only scan names no files");
        if (src == MOUNT_SOURCE_LISTMOUNT)
                cr_assert_neq(ns->id, 0, "listmount knows the namespace id");
        cr_assert_null(find_ns(s, s->self_mntns), "our namespace does not mount it");

        world_free(&w);}

Test(holder_scan, mount_in_another_namespace, .timeout = 120) {
        for_each_source(check_mount_in_another_namespace);
}

static void check_namespace_pinned_by_bind_mount(MountSource src) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        const HolderNamespace *ns;
        char pin[128], nspath[64];
        uint64_t ino;
        World w;
        pid_t pid;
        int fd;

        world_new(&w);
        pid = spawn(&w, child_mount);
        ino = mntns_of(pid);

        /* nsfs pins must not sit on a shared mount: a private one of our own. */
        snprintf(w.pin_dir, sizeof(w.pin_dir), "/tmp/dmwarden-pins-XXXXXX");
        cr_assert_not_null(mkdtemp(w.pin_dir));
        cr_assert_eq(mount(w.pin_dir, w.pin_dir, NULL, MS_BIND, NULL), 0);
        cr_assert_eq(mount(NULL, w.pin_dir, NULL, MS_PRIVATE, NULL), 0);
        snprintf(pin, sizeof(pin), "%s/engine.mnt", w.pin_dir);
        fd = open(pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int) pid);
        cr_assert_eq(mount(nspath, pin, NULL, MS_BIND, NULL), 0, "pin: %s", strerror(errno));
        kill_child(&w, pid);

        s = scan(&w, src, false);
        ns = find_ns(s, ino);
        cr_assert_not_null(ns, "%s: a namespace without processes was missed", mount_source_to_string(src));
        cr_assert_eq(ns->n_members, 0);
        cr_assert_eq(ns->n_processes, 0);
        cr_assert(has_string(ns->mount_points, w.dir));
        cr_assert_eq(ns->n_pins, 1);
        cr_assert_eq(ns->pins[0].kind, HOLDER_PIN_MOUNT);
        cr_assert_str_eq(ns->pins[0].path, pin);
        cr_assert_eq(ns->pins[0].mntns, s->self_mntns);

        cr_assert_eq(umount2(pin, MNT_DETACH), 0);
        (void) unlink(pin);
        world_free(&w);}

Test(holder_scan, namespace_pinned_by_bind_mount, .timeout = 120) {
        for_each_source(check_namespace_pinned_by_bind_mount);
}

static void check_namespace_pinned_by_open_fd(MountSource src) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        const HolderNamespace *ns;
        char nspath[64];
        uint64_t ino;
        World w;
        pid_t pid;
        int fd;

        world_new(&w);
        pid = spawn(&w, child_mount);
        ino = mntns_of(pid);
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int) pid);
        fd = open(nspath, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        kill_child(&w, pid);

        /* Open fds are only seen by the file scan. */
        s = scan(&w, src, true);
        ns = find_ns(s, ino);
        cr_assert_not_null(ns, "%s: namespace held by an fd was missed", mount_source_to_string(src));
        cr_assert_eq(ns->n_members, 0);
        cr_assert(has_string(ns->mount_points, w.dir));
        cr_assert_eq(ns->n_pins, 1);
        cr_assert_eq(ns->pins[0].kind, HOLDER_PIN_FD);
        cr_assert_eq(ns->pins[0].pid, getpid());
        cr_assert_eq(ns->pins[0].fd, fd);

        close(fd);
        world_free(&w);}

Test(holder_scan, namespace_pinned_by_open_fd, .timeout = 120) {
        for_each_source(check_namespace_pinned_by_open_fd);
}

static void check_cwd_in_detached_mount(MountSource src) {
        _cleanup_(holder_scan_freep) HolderScan *mounts_only = NULL, *s = NULL;
        const HolderRef *ref;
        const Holder *h;
        World w;
        pid_t pid;

        world_new(&w);
        pid = spawn(&w, child_cwd_detached);

        /* Invisible to every mount table: exactly why files are scanned. */
        mounts_only = scan(&w, src, false);
        cr_assert(holder_scan_is_empty(mounts_only), "%s: %zu namespaces reported",
                  mount_source_to_string(src), mounts_only->n_namespaces);

        s = scan(&w, src, true);
        cr_assert(s->files_scanned);
        h = find_process(s, pid);
        cr_assert_not_null(h, "%s: cwd holder missed", mount_source_to_string(src));
        ref = find_ref(h, HOLDER_REF_CWD);
        cr_assert_not_null(ref);
        cr_assert_str_eq(ref->path, "/", "a detached mount's root is all the kernel can name");
        cr_assert_not_null(find_ns(s, mntns_of(pid)));
        cr_assert_null(find_ns(s, mntns_of(pid))->mount_points[0]);

        world_free(&w);}

Test(holder_scan, cwd_in_detached_mount, .timeout = 120) {
        for_each_source(check_cwd_in_detached_mount);
}

Test(holder_scan, open_file_mapping_root_and_device_node, .timeout = 120) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        const HolderRef *ref;
        pid_t file_pid, map_pid, root_pid;
        World w;

        world_new(&w);
        file_pid = spawn(&w, child_open_file);
        map_pid = spawn(&w, child_map_file);
        root_pid = spawn(&w, child_chroot);
        s = scan(&w, MOUNT_SOURCE_AUTO, true);

        ref = find_ref(find_process(s, file_pid), HOLDER_REF_FD);
        cr_assert_not_null(ref, "open file missed");
        cr_assert_str_eq(ref->path, "/held-file");
        cr_assert_geq(ref->fd, 0);

        ref = find_ref(find_process(s, map_pid), HOLDER_REF_MAP);
        cr_assert_not_null(ref, "mapping missed");
        cr_assert_str_eq(ref->path, "/mapped-file");
        cr_assert_null(find_ref(find_process(s, map_pid), HOLDER_REF_FD), "its fd was closed");

        cr_assert_not_null(find_ref(find_process(s, root_pid), HOLDER_REF_ROOT), "chroot missed");
        cr_assert_not_null(find_ref(find_process(s, root_pid), HOLDER_REF_CWD));

        /* We hold the loop device node open ourselves (TestLoop keeps it). */
        ref = find_ref(find_process(s, getpid()), HOLDER_REF_DEVICE_NODE);
        cr_assert_not_null(ref, "open device node missed");
        cr_assert_eq(ref->fd, w.loop.fd);
        cr_assert_str_eq(ref->path, w.loop.node);

        world_free(&w);
}

Test(holder_scan, loop_device_backed_by_a_file_on_it, .timeout = 120) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        bool found = false;
        World w;

        world_new(&w);
        (void) spawn(&w, child_loop_on_file);
        s = scan(&w, MOUNT_SOURCE_MOUNTINFO, false);
        for (size_t i = 0; i < s->n_stacked; i++)
                if (s->stacked[i].kind == STACKED_LOOP && strncmp(s->stacked[i].name, "loop", 4) == 0)
                        found = true;
        cr_assert(found, "loop device on a file of the device missed (%zu stacked)", s->n_stacked);

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
        ns = find_ns(roots, mntns_of(pid));
        cr_assert_not_null(ns);
        cr_assert_eq(ns->n_members, 2);
        cr_assert_eq(ns->n_processes, 1, "only the root member is named");
        cr_assert_eq(ns->processes[0].pid, pid);
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

/* ---- dmwardenctl holders, as an operator runs it ---- */

/* Runs $DMWARDENCTL with args as uid; returns its exit status, output in *out. */
static int run_ctl(uid_t uid, char **out, const char *const *args) {
        const char *ctl = getenv("DMWARDENCTL");
        char *argv[8] = { (char *) ctl };
        size_t size = 0, n = 1;
        char buf[4096];
        FILE *f = open_memstream(out, &size);
        int p[2], status;
        ssize_t k;
        pid_t pid;

        cr_assert_not_null(ctl, "DMWARDENCTL is not set; run the tests through meson");
        for (; *args && n < ELEMENTSOF(argv) - 1; args++)
                argv[n++] = (char *) *args;
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(126);
                if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                        _exit(125);
                execv(ctl, argv);
                _exit(127);
        }
        close(p[1]);
        while ((k = read(p[0], buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t) k, f);
        close(p[0]);
        fclose(f);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

#define RUN_CTL(uid, out, ...) run_ctl((uid), (out), (const char *const[]) { __VA_ARGS__, NULL })

static bool json_valid(const char *text) {
        FILE *p = popen("/usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)'", "w");

        cr_assert_not_null(p);
        fputs(text, p);
        return pclose(p) == 0;
}

Test(dmwardenctl, holders_in_every_source_and_format, .timeout = 120) {
        World w;
        char pid_field[32];
        pid_t pid;

        world_new(&w);
        pid = spawn(&w, child_mount);
        snprintf(pid_field, sizeof(pid_field), "\"pid\":%d,", (int) pid);

        for (size_t i = 0; i < 3; i++) {
                static const char *const source_args[] = { "--source=auto", "--source=mountinfo", "--source=listmount" };
                _cleanup_free_ char *json = NULL, *table = NULL;
                int r;

                r = RUN_CTL(0, &json, "holders", w.loop.node, "--json", source_args[i]);
                if (i == 2 && !mount_source_listmount_supported()) {
                        cr_assert_eq(r, 1, "listmount asked for where the kernel lacks it: a scan failure");
                        continue;
                }
                cr_assert_eq(r, 0, "%s: exit %d", source_args[i], r);
                cr_assert(json_valid(json), "%s: invalid JSON: %s", source_args[i], json);
                cr_assert(strstr(json, pid_field), "%s: holder %d missing: %s", source_args[i], (int) pid, json);
                cr_assert(strstr(json, w.dir));

                cr_assert_eq(RUN_CTL(0, &table, "holders", w.loop.node, "--full", source_args[i]), 0);
                cr_assert(strstr(table, w.dir), "%s", table);
                cr_assert(strstr(table, "root member"), "%s", table);
                cr_assert(strstr(table, "open files too"), "--full scans files: %s", table);
        }
        world_free(&w);
}

Test(dmwardenctl, exit_statuses, .timeout = 60) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
        World w;

        world_new(&w);
        cr_assert_eq(RUN_CTL(0, &a, "--help"), 0);
        cr_assert(strstr(a, "Exit status"));
        cr_assert_eq(RUN_CTL(0, &b, "holders"), 2, "missing DEVICE");
        cr_assert_eq(RUN_CTL(0, &c, "holders", "/dev/null"), 2, "not a block device");
        cr_assert_eq(RUN_CTL(0, &d, "holders", w.loop.node, "--source=magic"), 2);
        cr_assert_eq(RUN_CTL(0, &e, "frobnicate", w.loop.node), 2);
        cr_assert_eq(RUN_CTL(65534, &f, "holders", w.loop.node), 4, "not root");
        world_free(&w);
}
