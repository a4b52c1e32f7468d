/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The holder scan: one pass over /proc (namespace of each process, and its
 * files if asked), one mount table per namespace, then the result grouped
 * by namespace. Everything is matched by device number. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/array.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "holders/block-stack.h"
#include "holders/holder-scan.h"
#include "holders/mntns-set.h"
#include "holders/proc-files.h"
#include "holders/proc-tasks.h"
#include "holders/proc-util.h"
#include "holders/task-walk.h"

/* A process, or a thread in another mount namespace than its process.
 * pid is what /proc is read by (procfs answers /proc/TID too): the
 * thread's TID, or for a process whose main thread has exited (its
 * /proc/PID shows nothing of it any more), a live thread's; tgid is the
 * process. */
typedef struct ProcEntry {
        pid_t pid;
        pid_t tgid;
        uint64_t mntns;
        bool thread;             /* a thread alone in its namespace */
} ProcEntry;

typedef struct ProcHolder {
        pid_t pid;               /* as in ProcEntry */
        uint64_t mntns;
        ProcFiles files;
} ProcHolder;

typedef struct ScanState {
        const HolderScanOptions *o;
        int proc_fd;
        dev_t nsfs_dev;          /* recognizes namespace fds; 0: do not */
        ProcEntry *procs;        /* by PID */
        size_t n_procs;
        pid_t *pids_by_ns;       /* PIDs ordered by (namespace, PID) */
        ProcHolder *holders;     /* processes with references, by PID */
        size_t n_holders;
        ProcNsFd *ns_fds;        /* mount namespaces processes hold open */
        size_t n_ns_fds;
        const dev_t *devs;       /* the devices scanned for */
        size_t n_devs;
        TaskWalkResult walked;   /* the walk in the kernel's, if it ran */
        MntnsSet set;
        HolderScan *result;
} ScanState;

static void scan_state_done(ScanState *st) {
        safe_close(st->proc_fd);
        free(st->procs);
        free(st->pids_by_ns);
        for (size_t i = 0; i < st->n_holders; i++)
                proc_files_done(&st->holders[i].files);
        free(st->holders);
        free(st->ns_fds);
        task_walk_result_done(&st->walked);
        mntns_set_done(&st->set);
        holder_scan_free(st->result);
}

static const char *const ref_kind_names[_HOLDER_REF_KIND_MAX] = {
        [HOLDER_REF_FD] = "fd",
        [HOLDER_REF_DEVICE_NODE] = "device-node",
        [HOLDER_REF_CWD] = "cwd",
        [HOLDER_REF_ROOT] = "root",
        [HOLDER_REF_EXE] = "exe",
        [HOLDER_REF_MAP] = "map",
};

static const char *const pin_kind_names[_HOLDER_PIN_KIND_MAX] = {
        [HOLDER_PIN_MOUNT] = "mount",
        [HOLDER_PIN_FD] = "fd",
};

static const char *const stacked_kind_names[_STACKED_KIND_MAX] = {
        [STACKED_HOLDER] = "holder",
        [STACKED_LOOP] = "loop",
};

DEFINE_ENUM_TO_STRING(holder_ref_kind, HolderRefKind, ref_kind_names, _HOLDER_REF_KIND_MAX);

DEFINE_ENUM_TO_STRING(holder_pin_kind, HolderPinKind, pin_kind_names, _HOLDER_PIN_KIND_MAX);

DEFINE_ENUM_TO_STRING(stacked_kind, StackedKind, stacked_kind_names, _STACKED_KIND_MAX);

static void holder_done(Holder *h) {
        free(h->comm);
        free(h->unit);
        for (size_t i = 0; i < h->n_refs; i++)
                holder_ref_done(&h->refs[i]);
        free(h->refs);
}

static void holder_namespace_done(HolderNamespace *ns) {
        strv_free(ns->mount_points);
        free(ns->mount_ids);
        free(ns->members);
        free(ns->threads);
        for (size_t i = 0; i < ns->n_processes; i++)
                holder_done(&ns->processes[i]);
        free(ns->processes);
        for (size_t i = 0; i < ns->n_pins; i++)
                free(ns->pins[i].path);
        free(ns->pins);
}

HolderScan *holder_scan_free(HolderScan *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_namespaces; i++)
                holder_namespace_done(&s->namespaces[i]);
        free(s->namespaces);
        for (size_t i = 0; i < s->n_stacked; i++)
                stacked_holder_done(&s->stacked[i]);
        free(s->stacked);
        free(s);
        return NULL;
}

bool holder_scan_is_empty(const HolderScan *s) {
        return s->n_namespaces == 0 && s->n_stacked == 0;
}

bool holder_scan_explains_open_count(const HolderScan *s, unsigned open_count) {
        unsigned expected = 0;

        for (size_t i = 0; i < s->n_namespaces; i++)
                if (s->namespaces[i].mount_points && s->namespaces[i].mount_points[0]) {
                        expected = 1;
                        break;
                }
        for (size_t i = 0; i < s->n_stacked; i++)
                if (s->stacked[i].kind == STACKED_HOLDER)
                        expected++;
        return open_count <= expected;
}

static void count_failure(HolderScan *s, pid_t pid, int r) {
        if (proc_error_is_vanished(r))
                s->n_processes_vanished++;
        else {
                /* EACCES, EPERM, or anything else: we could not look. */
                s->n_processes_inaccessible++;
                log_debug_errno(r, "Cannot inspect PID %d, skipping: %m", (int) pid);
        }
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = ((const ProcEntry *) a)->pid, y = ((const ProcEntry *) b)->pid;

        return (x > y) - (x < y);
}

static int cmp_ns_pid(const void *a, const void *b) {
        const ProcEntry *x = a, *y = b;

        if (x->mntns != y->mntns)
                return (x->mntns > y->mntns) - (x->mntns < y->mntns);
        return cmp_pid(a, b);
}

/* Keeps what a process or thread holds: the namespaces it has open, and
 * its references if it has any. Takes files. */
static int keep_files(ScanState *st, pid_t pid, uint64_t mntns, ProcFiles *files) {
        ProcHolder h = { .pid = pid, .mntns = mntns, .files = *files };
        int r = 0;

        *files = (ProcFiles) {};
        for (size_t i = 0; r >= 0 && i < h.files.n_ns_fds; i++)
                r = array_append((void **) &st->ns_fds, &st->n_ns_fds, sizeof(ProcNsFd), &h.files.ns_fds[i]);
        if (r >= 0 && h.files.n_refs > 0) {
                r = array_append((void **) &st->holders, &st->n_holders, sizeof(ProcHolder), &h);
                if (r >= 0)
                        return 0; /* st->holders owns the files now */
        }
        proc_files_done(&h.files);
        return r;
}

/* Threads in a mount namespace of their own become entries (and holders)
 * of their own; the others add what they hold of their own (a cwd, root or
 * fd table) to the process's files. Most processes have one thread, and
 * the link count of their task directory says so without opening it. */
static int scan_threads(ScanState *st, const ProcEntry *process, bool add_entries, ProcFiles *files) {
        _cleanup_(proc_tasks_done) ProcTasks tasks = {};
        unsigned n_threads;
        int r;

        if (proc_read_task_count(st->proc_fd, process->pid, &n_threads) < 0 || n_threads < 2)
                return 0;
        r = proc_tasks_scan(st->proc_fd, process->pid, process->mntns, st->o->dev, st->nsfs_dev,
                            st->o->scan_files ? files : NULL, &tasks);
        if (r < 0)
                return r == -ENOMEM ? r : 0; /* exited meanwhile, or not ours to see */
        for (size_t i = 0; i < tasks.n_tasks; i++) {
                ProcEntry e = {
                        .pid = tasks.tasks[i].tid,
                        .tgid = process->tgid,
                        .mntns = tasks.tasks[i].mntns,
                        .thread = true,
                };

                if (add_entries) {
                        r = array_append((void **) &st->procs, &st->n_procs, sizeof(ProcEntry), &e);
                        if (r < 0)
                                return r;
                }
                r = keep_files(st, e.pid, e.mntns, &tasks.tasks[i].files);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What process e and its threads hold (files if asked), and with
 * add_entries, entries for its threads in other namespaces. */
static int scan_process_files(ScanState *st, const ProcEntry *e, bool add_entries) {
        _cleanup_(proc_files_done) ProcFiles files = {};
        pid_t pid = e->tgid;
        int r;

        /* Files, cwd, root and maps can wait on a filesystem that does not
         * answer, threads' too: skipped while an earlier scan still waits. */
        r = stall_guard_enter(st->o->stall_guard, STALL_KEY_PROCESS(pid));
        if (r == -EBUSY) {
                st->result->n_steps_skipped++;
                return 0;
        }
        if (r < 0)
                return r;
        if (st->o->scan_files) {
                r = proc_files_scan(st->proc_fd, e->pid, st->o->dev, st->nsfs_dev, &files);
                if (r < 0 && r != -ENOMEM)
                        count_failure(st->result, pid, r);
        }
        if (r != -ENOMEM)
                r = scan_threads(st, e, add_entries, &files);
        stall_guard_leave(st->o->stall_guard, STALL_KEY_PROCESS(pid));
        if (r < 0)
                return r;
        return keep_files(st, e->pid, e->mntns, &files);
}

/* A process's namespace, its threads', and their files if asked. */
static int scan_process(pid_t pid, void *userdata) {
        ScanState *st = userdata;
        ProcEntry e = { .pid = pid, .tgid = pid };
        int r;

        st->result->n_processes++;
        r = proc_read_mntns(st->proc_fd, pid, &e.mntns);
        if (proc_error_is_vanished(r))
                /* Gone, or only its main thread is: then a live thread
                 * still has the namespace, files and mappings. */
                r = proc_tasks_find_live(st->proc_fd, pid, &e.pid, &e.mntns);
        if (r < 0) {
                count_failure(st->result, pid, r);
                return 0;
        }
        r = array_append((void **) &st->procs, &st->n_procs, sizeof(ProcEntry), &e);
        if (r < 0)
                return r;
        return scan_process_files(st, &e, true);
}

/* One pass over /proc: each process's namespace, and its files if asked. */
static int walk_processes(ScanState *st) {
        int r;

        r = proc_for_each_pid(st->proc_fd, ".", scan_process, st);
        if (r < 0)
                return r;
        qsort(st->procs, st->n_procs, sizeof(ProcEntry), cmp_pid);
        return 0;
}

/* One process of the kernel's walk: t[0..n), its tasks by TID. The same
 * entries walk_processes() makes: the process by its main thread, or if
 * that has exited, by its first live thread; its threads in other
 * namespaces; and, for a process the walk says may hold the device, its
 * files read from /proc as there. */
static int add_walked_process(ScanState *st, const TaskWalkResult *w, const TaskWalkTask *t, size_t n) {
        pid_t tgid = t[0].tgid;
        const TaskWalkTask *leader = NULL, *live = NULL;
        ProcEntry e = { .pid = tgid, .tgid = tgid };
        int r;

        for (size_t i = 0; i < n; i++)
                if (t[i].tid == tgid)
                        leader = &t[i];
                else if (!live && t[i].mntns != 0)
                        live = &t[i];
        if (!leader)
                return 0;  /* reaped as the walk went by: not in /proc either */
        st->result->n_processes++;
        if (leader->mntns != 0)
                e.mntns = leader->mntns;
        else if (live) {
                e.pid = live->tid;
                e.mntns = live->mntns;
        } else {
                st->result->n_processes_vanished++;
                return 0;
        }
        r = array_append((void **) &st->procs, &st->n_procs, sizeof(ProcEntry), &e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                ProcEntry thread = { .pid = t[i].tid, .tgid = tgid, .mntns = t[i].mntns, .thread = true };

                if (t[i].tid == e.pid || t[i].mntns == 0 || t[i].mntns == e.mntns)
                        continue;
                r = array_append((void **) &st->procs, &st->n_procs, sizeof(ProcEntry), &thread);
                if (r < 0)
                        return r;
        }
        if (st->o->scan_files && task_walk_result_holding(w, tgid))
                return scan_process_files(st, &e, false);
        return 0;
}

/* walk_processes() by the kernel's task walk: one pass over every task in
 * the kernel, then /proc only for the processes it names. The mount walk
 * runs with it, to tell which namespaces' tables need reading (kept in
 * st->walked for mntns_set_scan()). */
static int walk_processes_in_kernel(ScanState *st) {
        TaskWalkResult *w = &st->walked;
        TaskWalkAsk ask = st->o->scan_files ? TASK_WALK_ASK_HOLDERS : 0;
        size_t n_devs = st->n_devs;
        int r;

        if (n_devs <= TASK_WALK_MAX_DEVICES)
                ask |= TASK_WALK_ASK_MOUNTS;
        else
                n_devs = 0;  /* every table is read, as by /proc's walk */
        r = task_walk_run(st->o->task_walk, st->devs, n_devs, ask, w);
        if (r < 0)
                return r;
        for (size_t i = 0, end; i < w->n_tasks; i = end) {
                for (end = i + 1; end < w->n_tasks && w->tasks[end].tgid == w->tasks[i].tgid; end++)
                        ;
                r = add_walked_process(st, w, w->tasks + i, end - i);
                if (r < 0)
                        return r;
        }
        qsort(st->procs, st->n_procs, sizeof(ProcEntry), cmp_pid);
        return 1;
}

/* Whether the scan reads the kernel's /proc, not a fixture tree (which has
 * no kernel behind it to list mounts or walk tasks in). */
static bool reads_kernel_proc(const HolderScanOptions *o) {
        return !o->proc_root || strcmp(o->proc_root, "/proc") == 0;
}

/* The kernel's walk where it is loaded and asked for, else /proc's. A
 * walk in the kernel that cannot run (another still under way, say) is
 * told and replaced by /proc's, unless it was asked for by name. */
static int walk(ScanState *st) {
        const HolderScanOptions *o = st->o;
        bool kernel = reads_kernel_proc(o);
        int r;

        if (o->walk == HOLDER_WALK_BPF && (!o->task_walk || !kernel))
                return -EOPNOTSUPP;
        if (o->walk != HOLDER_WALK_PROC && o->task_walk && kernel) {
                r = walk_processes_in_kernel(st);
                if (r > 0) {
                        st->result->walk = HOLDER_WALK_BPF;
                        return 0;
                }
                /* It failed before adding anything, or for want of memory. */
                if (o->walk == HOLDER_WALK_BPF || r == -ENOMEM || st->n_procs > 0)
                        return r;
                log_debug_errno(r, "The BPF task walk cannot run now, reading /proc: %m");
        }
        st->result->walk = HOLDER_WALK_PROC;
        return walk_processes(st);
}

/* Seeds the namespace set with every namespace a process is in (members
 * borrowed from pids_by_ns) and every namespace a process holds open. */
static int seed_namespaces(ScanState *st) {
        _cleanup_free_ ProcEntry *by_ns = NULL;
        int r;

        by_ns = calloc(st->n_procs ?: 1, sizeof(ProcEntry));
        st->pids_by_ns = calloc(st->n_procs ?: 1, sizeof(pid_t));
        if (!by_ns || !st->pids_by_ns)
                return -ENOMEM;
        if (st->n_procs > 0)
                memcpy(by_ns, st->procs, st->n_procs * sizeof(ProcEntry));
        qsort(by_ns, st->n_procs, sizeof(ProcEntry), cmp_ns_pid);

        for (size_t i = 0, start = 0; i < st->n_procs; i++) {
                st->pids_by_ns[i] = by_ns[i].pid;
                if (i + 1 < st->n_procs && by_ns[i + 1].mntns == by_ns[i].mntns)
                        continue;
                r = mntns_set_add(&st->set, by_ns[i].mntns);
                if (r < 0)
                        return r;
                st->set.ns[r].members = st->pids_by_ns + start;
                st->set.ns[r].n_members = i + 1 - start;
                start = i + 1;
        }

        for (size_t i = 0; i < st->n_ns_fds; i++) {
                const ProcNsFd *p = &st->ns_fds[i];

                r = mntns_set_add(&st->set, p->mntns);
                if (r < 0)
                        return r;
                if (st->set.ns[r].fd_pid == 0) {
                        st->set.ns[r].fd_pid = p->pid;
                        st->set.ns[r].fd_num = p->fd;
                }
        }
        return 0;
}

static const ProcEntry *find_proc(const ScanState *st, pid_t pid) {
        ProcEntry key = { .pid = pid };

        return bsearch(&key, st->procs, st->n_procs, sizeof(ProcEntry), cmp_pid);
}

/* The entry of process pid: by PID, or, if its main thread has exited, the
 * one seen through a live thread (rare: a linear search). */
static const ProcEntry *find_process(const ScanState *st, pid_t pid) {
        const ProcEntry *e = find_proc(st, pid);

        for (size_t i = 0; !e && i < st->n_procs; i++)
                if (st->procs[i].tgid == pid && !st->procs[i].thread)
                        e = &st->procs[i];
        return e;
}

static ProcHolder *find_holder(ScanState *st, pid_t pid) {
        /* holders were appended in /proc order, which is by PID, but do not
         * rely on it: few processes hold files, a linear search is cheap. */
        for (size_t i = 0; i < st->n_holders; i++)
                if (st->holders[i].pid == pid)
                        return &st->holders[i];
        return NULL;
}

static bool mounts_device(const MountTable *t, dev_t dev) {
        for (size_t i = 0; i < t->n_entries; i++)
                if (t->entries[i].pinned_mntns == 0 && t->entries[i].dev == dev)
                        return true;
        return false;
}

/* e->pid names a process, or a thread alone in this namespace. */
static int describe_process(ScanState *st, const ProcEntry *e, pid_t ppid, bool root_member, HolderNamespace *out) {
        pid_t pid = e->pid;
        Holder h = { .pid = e->tgid, .tid = e->thread ? pid : 0, .ppid = ppid, .root_member = root_member };
        ProcHolder *ph;
        int r;

        r = proc_read_comm(st->proc_fd, pid, &h.comm);
        if (r == -ENOMEM)
                return r;
        r = proc_read_unit(st->proc_fd, pid, &h.unit);
        if (r == -ENOMEM)
                return r;

        ph = find_holder(st, pid);
        if (ph) {
                h.refs = TAKE_PTR(ph->files.refs);
                h.n_refs = ph->files.n_refs;
                ph->files.n_refs = 0;
        }
        r = array_append((void **) &out->processes, &out->n_processes, sizeof(Holder), &h);
        if (r < 0)
                holder_done(&h);
        return r;
}

/* The processes worth naming in a namespace: its root members if it mounts
 * the device, those with references, or all with describe_all. Kernel
 * threads are in the initial namespace but hold nothing of their own. */
static int describe_members(ScanState *st, const MntnsInfo *ns, bool holds, HolderNamespace *out) {
        int r;

        for (size_t m = 0; m < ns->n_members; m++) {
                pid_t pid = ns->members[m], ppid = -1;
                bool has_refs = find_holder(st, pid), root = false;
                const ProcEntry *e = find_proc(st, pid), *parent;
                unsigned flags = 0;

                if (!holds && !has_refs && !st->o->describe_all)
                        continue;
                if (proc_read_stat(st->proc_fd, pid, &ppid, &flags) >= 0) {
                        if (flags & PROC_PF_KTHREAD)
                                continue;
                        parent = find_process(st, ppid);
                        /* A thread here is one its process is not in: it
                         * made or entered this namespace itself. */
                        root = e->thread || !parent || parent->mntns != ns->ino;
                } else if (!has_refs)
                        continue; /* gone */
                if (!(holds && root) && !has_refs && !st->o->describe_all)
                        continue;
                r = describe_process(st, e, ppid, root, out);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_pins(const ScanState *st, const MntnsInfo *ns, HolderNamespace *out) {
        int r;

        for (size_t p = 0; p < ns->n_pins; p++) {
                HolderPin pin = ns->pins[p];

                int c = mntns_set_find(&st->set, pin.mntns);

                /* Where the pin is is known; how to get there is decided
                 * when it is used, by whoever uses it. */
                if (c >= 0 && st->set.ns[c].ino != st->set.self && st->set.ns[c].n_members > 0)
                        pin.root_pid = st->set.ns[c].members[0];
                pin.path = strdup(pin.path);
                if (!pin.path)
                        return -ENOMEM;
                r = array_append((void **) &out->pins, &out->n_pins, sizeof(HolderPin), &pin);
                if (r < 0) {
                        free(pin.path);
                        return r;
                }
        }
        for (size_t i = 0; i < st->n_ns_fds; i++) {
                const ProcNsFd *f = &st->ns_fds[i];
                HolderPin pin = { .kind = HOLDER_PIN_FD, .pid = f->pid, .fd = f->fd };

                if (f->mntns != ns->ino)
                        continue;
                r = array_append((void **) &out->pins, &out->n_pins, sizeof(HolderPin), &pin);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool has_holders_in(const ScanState *st, uint64_t mntns) {
        for (size_t i = 0; i < st->n_holders; i++)
                if (st->holders[i].mntns == mntns)
                        return true;
        return false;
}

static int build_namespace(ScanState *st, const MntnsInfo *ns, dev_t dev) {
        _cleanup_(holder_namespace_done) HolderNamespace out = { .ino = ns->ino, .id = ns->id };
        bool holds = mounts_device(&ns->table, dev);
        int r;

        if (!holds && !has_holders_in(st, ns->ino))
                return 0;

        out.mount_points = calloc(1, sizeof(char *));
        out.mount_ids = calloc(ns->table.n_entries ?: 1, sizeof(uint64_t));
        out.members = calloc(ns->n_members ?: 1, sizeof(pid_t));
        out.threads = calloc(ns->n_members ?: 1, sizeof(pid_t));
        if (!out.mount_points || !out.mount_ids || !out.members || !out.threads)
                return -ENOMEM;
        for (size_t e = 0, n = 0; e < ns->table.n_entries; e++) {
                const MountEntry *m = &ns->table.entries[e];

                if (m->pinned_mntns != 0 || m->dev != dev)
                        continue;
                r = strv_extend(&out.mount_points, m->mount_point);
                if (r < 0)
                        return r;
                out.mount_ids[n++] = m->id;
        }
        for (size_t m = 0; m < ns->n_members; m++) {
                const ProcEntry *e = find_proc(st, ns->members[m]);

                if (e->thread)
                        out.threads[out.n_threads++] = e->pid;
                else
                        out.members[out.n_members++] = e->tgid;
        }

        r = describe_members(st, ns, holds, &out);
        if (r < 0)
                return r;
        r = add_pins(st, ns, &out);
        if (r < 0)
                return r;
        r = array_append((void **) &st->result->namespaces, &st->result->n_namespaces, sizeof(HolderNamespace), &out);
        if (r < 0)
                return r;
        out = (HolderNamespace) {}; /* the result owns it now */
        return 0;
}

static int cmp_namespace(const void *a, const void *b) {
        uint64_t x = ((const HolderNamespace *) a)->ino, y = ((const HolderNamespace *) b)->ino;

        return (x > y) - (x < y);
}

static MountSource resolve_source(const HolderScanOptions *o) {
        if (o->source != MOUNT_SOURCE_AUTO)
                return o->source;
        if (!reads_kernel_proc(o))
                return MOUNT_SOURCE_MOUNTINFO;
        return mount_source_listmount_supported() ? MOUNT_SOURCE_LISTMOUNT : MOUNT_SOURCE_MOUNTINFO;
}

/* The part of a scan every device shares: the walk over /proc, and the
 * mount table of every namespace found (of set_dev's mounts and the pins,
 * or of all mounts), counted in st->result. */
static int collect(ScanState *st, dev_t set_dev) {
        const HolderScanOptions *o = st->o;
        HolderScan *result = st->result;
        const char *proc_root = o->proc_root ?: "/proc";
        struct stat nsfs;
        int r;

        result->source = resolve_source(o);
        if (result->source == MOUNT_SOURCE_LISTMOUNT && !mount_source_listmount_supported())
                return -EOPNOTSUPP;
        st->proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (st->proc_fd < 0)
                return negative_errno();
        (void) proc_read_mntns(st->proc_fd, 0, &result->self_mntns);
        /* Namespace fds are recognized by the device of nsfs itself. */
        st->nsfs_dev = fstatat(st->proc_fd, "self/ns/mnt", &nsfs, 0) >= 0 ? nsfs.st_dev : 0;

        r = walk(st);
        if (r < 0)
                return r;
        r = seed_namespaces(st);
        if (r < 0)
                return r;

        st->set.proc_fd = st->proc_fd;
        st->set.dev = set_dev;
        st->set.self = result->self_mntns;
        st->set.walked = &st->walked;
        r = mntns_set_scan(&st->set, result->source);
        if (r < 0)
                return r;
        result->n_namespaces_scanned = st->set.n_scanned;
        result->n_namespaces_inaccessible = st->set.n_unreachable;
        result->n_namespaces_cleared = st->set.n_cleared;
        return 0;
}

/* What holds dev, from what collect() found, into st->result. */
static int build_result(ScanState *st, dev_t dev) {
        const HolderScanOptions *o = st->o;
        int r;

        st->result->dev = dev;
        for (size_t i = 0; i < st->set.n_ns; i++) {
                r = build_namespace(st, &st->set.ns[i], dev);
                if (r < 0)
                        return r;
        }
        /* qsort() may not be passed NULL, even with nothing to sort. */
        if (st->result->n_namespaces > 0)
                qsort(st->result->namespaces, st->result->n_namespaces, sizeof(HolderNamespace), cmp_namespace);

        r = block_stack_find(o->sys_root ?: "/sys", o->sys_root ? NULL : "/dev", dev, o->stall_guard,
                             &st->result->stacked, &st->result->n_stacked, &st->result->n_steps_skipped);
        if (r < 0 && r != -ENOENT)
                return r;
        return 0;
}

int holder_scan(const HolderScanOptions *o, HolderScan **ret) {
        _cleanup_(scan_state_done) ScanState st = { .o = o, .proc_fd = -EBADF, .devs = &o->dev, .n_devs = 1 };
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        int r;

        st.result = calloc(1, sizeof(HolderScan));
        if (!st.result)
                return -ENOMEM;
        st.result->files_scanned = o->scan_files;
        r = collect(&st, o->dev);
        if (r < 0)
                return r;
        r = build_result(&st, o->dev);
        if (r < 0)
                return r;
        st.result->duration_usec = now_usec(CLOCK_MONOTONIC) - start;
        *ret = TAKE_PTR(st.result);
        return 0;
}

int holder_scan_many(const HolderScanOptions *o, const dev_t *devs, size_t n, HolderScan **ret) {
        _cleanup_(scan_state_done) ScanState st = { .o = o, .proc_fd = -EBADF, .devs = devs, .n_devs = n };
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        HolderScan shared = {};
        int r;

        if (o->scan_files)
                return -EINVAL;  /* files are matched by device as they are read */
        st.result = &shared;  /* what the walk counts */
        r = collect(&st, n == 1 ? devs[0] : MOUNT_DEV_ANY);
        st.result = NULL;
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                st.result = calloc(1, sizeof(HolderScan));
                if (!st.result)
                        r = -ENOMEM;
                else {
                        HolderScan *s = st.result;

                        s->source = shared.source;
                        s->walk = shared.walk;
                        s->self_mntns = shared.self_mntns;
                        s->n_processes = shared.n_processes;
                        s->n_processes_inaccessible = shared.n_processes_inaccessible;
                        s->n_processes_vanished = shared.n_processes_vanished;
                        s->n_namespaces_scanned = shared.n_namespaces_scanned;
                        s->n_namespaces_inaccessible = shared.n_namespaces_inaccessible;
                        s->n_namespaces_cleared = shared.n_namespaces_cleared;
                        s->n_steps_skipped = shared.n_steps_skipped;
                        r = build_result(&st, devs[i]);
                }
                if (r < 0) {
                        for (size_t j = 0; j < i; j++)
                                ret[j] = holder_scan_free(ret[j]);
                        return r;
                }
                st.result->duration_usec = now_usec(CLOCK_MONOTONIC) - start;
                ret[i] = TAKE_PTR(st.result);
        }
        return 0;
}

int holder_scan_for_open_count(const HolderScanOptions *o, unsigned open_count, HolderScan **ret) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        HolderScanOptions files = *o;
        int r;

        r = holder_scan(o, &s);
        if (r < 0)
                return r;
        if (!o->scan_files && !holder_scan_explains_open_count(s, open_count)) {
                log_debug("Open count %u is more than the mounts explain, scanning files.", open_count);
                s = holder_scan_free(s);
                files.scan_files = true;
                r = holder_scan(&files, &s);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}
