/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0-only */
/* The mount walk: which mount namespaces hold a mount of a device asked
 * about, or an nsfs mount of a mount namespace (a pin), and whether any
 * file of such a device is mapped, found from the devices' side instead
 * of by reading every namespace's whole table and every process's every
 * mapping.
 *
 * The kernel keeps every superblock on one list, and each superblock the
 * lists of its mounts and of its cached inodes; each mount names its
 * namespace, each inode the tree of its mappings. So: along the
 * superblock list to the superblocks of the devices asked about and to
 * nsfs's, along their mounts, and along the devices' inodes until one is
 * mapped. That is a few hundred steps where reading the tables is one
 * statmount() of every mount of every namespace (100,000 on a host of 100
 * namespaces of 1,000 mounts), and the mapping walk a visit of every
 * mapping of every process (840,000 there). A mapped file is an inode with
 * a mapping, so where none is, no process can hold a device by a mapping.
 *
 * Without the locks. Both lists are read as the kernel's RCU readers
 * would, and a walk that may have missed something says so by not
 * writing its last record (DONE): user space then reads every table, as
 * without this walk. What can change under the walk:
 *   - a superblock, mount, inode or mapping added: it is newer than the
 *     walk, as it would be newer than a table read a moment earlier (an
 *     inode added to the cache has no mapping older than the walk: a
 *     mapping keeps its inode in the cache);
 *   - the superblock or inode the walk stands on unlinked: list_del_init()
 *     points it at itself, which the walk sees;
 *   - a mount unlinked from a list (6.12 and before): list_del() poisons its
 *     link, which cannot be read;
 *   - a mount unlinked from a chain (6.18): its link still leads on, to
 *     the mounts after it;
 *   - more steps than the bound, or more records than one read can take.
 * Both lists' memory is freed only after an RCU grace period, and the
 * iterator runs inside an RCU read-side section, so every step reads
 * memory that is still what it was. Reads go through bpf_core_read(): a
 * bad address is an error, never a fault. */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "kernel-types.h"
#include "mount-walk-record.h"
#include "task-walk-record.h"
#include "wanted-devs.h"

#define NSFS_MAGIC 0x6e736673
#define MAX_ERRNO 4095
/* Superblocks, plus the mounts and cached inodes of the ones asked about:
 * far below this on any real host (bpf_loop() allows 1 << 23). */
#define MOUNT_WALK_MAX_STEPS (1 << 22)

char LICENSE[] SEC("license") = "GPL";

enum { RUNNING, COMPLETE, INCOMPLETE };
enum { AT_SUPERBLOCKS, AT_MOUNTS, AT_INODES };

/* Where the walk is. In a map, not on bpf_loop()'s stack context: the
 * verifier then takes its fields as any value. On the stack it tracks
 * them exactly, and the kernels disagree on what follows: 6.18 checks each
 * step once per combination of values it can tell apart (14,000
 * instructions, and over its limit with two more counters); on 6.1 the
 * walk never got past its first superblock, as a kernel that checks the
 * step once, with the first call's values, and drops the branches that
 * call did not take, would make it. */
struct walk_state {
        const void *mnt_ns_ops;       /* what a mount namespace's ns_common has */
        struct list_head *start;      /* the superblock list, where we began */
        struct list_head *at;         /* the superblock list, where we are */
        bool started;
        int phase;
        struct super_block *sb;       /* AT_MOUNTS, AT_INODES: whose */
        bool pins;                    /* sb is nsfs: its mounts are pins */
        void *mnt_at;                 /* list: a list_head; chain: a mount */
        void *mnt_end;                /* list: the superblock's s_mounts */
        struct list_head *inode_at;   /* AT_INODES: sb's s_inodes */
        struct list_head *inode_end;
        int status;
        __u32 why;                    /* INCOMPLETE: MOUNT_WALK_WHY_* */
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct walk_state);
} walk_states SEC(".maps");

/* What bpf_loop() hands each step: the pointer the verifier must keep. */
struct loop_ctx {
        struct seq_file *seq;
};

static bool chained_mounts(void) {
        return bpf_core_field_exists(struct mount___chain, mnt_next_for_sb);
}

static long incomplete(struct walk_state *s, __u32 why) {
        s->status = INCOMPLETE;
        s->why = why;
        return 1;
}

static long write_record(struct walk_state *s, struct seq_file *seq, __u32 kind, __u32 id) {
        struct mount_walk_record r = { .kind = kind, .id = id };

        if (bpf_seq_write(seq, &r, sizeof(r)) < 0)
                return incomplete(s, MOUNT_WALK_WHY_FULL);
        return 0;
}

/* A mount of s->sb: written if it is in a namespace (and, for nsfs, if it
 * pins a mount namespace). */
static long note_mount(struct walk_state *s, struct seq_file *seq, struct mount *m) {
        struct mnt_namespace *ns = NULL;
        struct dentry *root = NULL;
        struct inode *inode = NULL;
        struct ns_common *pinned = NULL;
        const void *ops = NULL;
        __u32 inum = 0;

        if (bpf_core_read(&ns, sizeof(ns), &m->mnt_ns) < 0)
                return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        /* Detached, or the kernel's own (an error pointer). */
        if (!ns || (unsigned long) ns >= (unsigned long) -MAX_ERRNO)
                return 0;
        if (s->pins) {
                if (bpf_core_read(&root, sizeof(root), &m->mnt.mnt_root) < 0 ||
                    bpf_core_read(&inode, sizeof(inode), &root->d_inode) < 0 ||
                    bpf_core_read(&pinned, sizeof(pinned), &inode->i_private) < 0 ||
                    bpf_core_read(&ops, sizeof(ops), &pinned->ops) < 0)
                        return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
                if (ops != s->mnt_ns_ops)
                        return 0; /* a pin of another type of namespace */
        }
        if (bpf_core_read(&inum, sizeof(inum), &ns->ns.inum) < 0)
                return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        return write_record(s, seq, s->pins ? MOUNT_WALK_PIN : MOUNT_WALK_DEVICE, inum);
}

/* The first of s->sb's mounts. */
static long first_mount(struct walk_state *s) {
        s->phase = AT_MOUNTS;
        if (chained_mounts()) {
                struct super_block___chain *sb = (void *) s->sb;

                if (bpf_core_read(&s->mnt_at, sizeof(s->mnt_at), &sb->s_mounts) < 0)
                        return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        } else {
                struct super_block___list *sb = (void *) s->sb;

                s->mnt_end = &sb->s_mounts;
                if (bpf_core_read(&s->mnt_at, sizeof(s->mnt_at), &sb->s_mounts.next) < 0)
                        return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        }
        return 0;
}

/* After s->sb's mounts: a device's inodes, or on to the next superblock. */
static long after_mounts(struct walk_state *s) {
        struct super_block *sb = s->sb;

        if (s->pins) {
                s->phase = AT_SUPERBLOCKS;
                return 0;
        }
        s->phase = AT_INODES;
        s->inode_end = &sb->s_inodes;
        if (bpf_core_read(&s->inode_at, sizeof(s->inode_at), &sb->s_inodes.next) < 0)
                return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        return 0;
}

/* One mount of s->sb, or what comes after its last. */
static long step_mount(struct walk_state *s, struct seq_file *seq) {
        struct mount *m;

        if (chained_mounts()) {
                m = s->mnt_at;
                if (!m)
                        return after_mounts(s);
                if (bpf_core_read(&s->mnt_at, sizeof(s->mnt_at), &((struct mount___chain *) m)->mnt_next_for_sb) < 0)
                        return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        } else {
                struct list_head *link = s->mnt_at;

                if (link == s->mnt_end)
                        return after_mounts(s);
                if (!link || bpf_core_read(&s->mnt_at, sizeof(s->mnt_at), &link->next) < 0)
                        return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
                m = (void *) link - bpf_core_field_offset(struct mount___list, mnt_instance);
        }
        return note_mount(s, seq, m);
}

/* One inode of the device s->sb: the first one mapped is written, and
 * ends the device's walk. */
static long step_inode(struct walk_state *s, struct seq_file *seq) {
        struct list_head *link = s->inode_at, *next = NULL;
        struct super_block *sb = s->sb;
        struct address_space *mapping = NULL;
        struct rb_node *mapped = NULL;
        struct inode *inode;
        __u32 dev = 0;

        if (link == s->inode_end) {
                s->phase = AT_SUPERBLOCKS;
                return 0;
        }
        if (!link || bpf_core_read(&next, sizeof(next), &link->next) < 0 || !next || next == link)
                return incomplete(s, MOUNT_WALK_WHY_UNLINKED);
        s->inode_at = next;
        inode = (void *) link - bpf_core_field_offset(struct inode, i_sb_list);
        if (bpf_core_read(&mapping, sizeof(mapping), &inode->i_mapping) < 0 ||
            (mapping && bpf_core_read(&mapped, sizeof(mapped), &mapping->i_mmap.rb_root.rb_node) < 0))
                return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        if (!mapped)
                return 0;
        s->phase = AT_SUPERBLOCKS;
        if (bpf_core_read(&dev, sizeof(dev), &sb->s_dev) < 0)
                return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        return write_record(s, seq, MOUNT_WALK_MAPPED, dev);
}

/* The next superblock: its mounts are walked next if it is asked about. */
static long step_superblock(struct walk_state *s) {
        struct list_head *next = s->start;
        struct super_block *sb, *back = NULL;
        struct dentry *root = NULL;
        unsigned long magic = 0;
        __u32 dev = 0;

        if (s->started) {
                struct list_head *at = s->at;  /* not s->at->next: a relocation of ours */

                if (bpf_core_read(&next, sizeof(next), &at->next) < 0 || !next || next == at)
                        return incomplete(s, MOUNT_WALK_WHY_UNLINKED);
                if (next == s->start) {
                        s->status = COMPLETE;
                        return 1;
                }
        }
        s->started = true;
        s->at = next;
        sb = (void *) next - bpf_core_field_offset(struct super_block, s_list);
        /* The list's head is no superblock: a real one's root points back. */
        if (bpf_core_read(&root, sizeof(root), &sb->s_root) < 0 || !root ||
            bpf_core_read(&back, sizeof(back), &root->d_sb) < 0 || back != sb)
                return 0;
        if (bpf_core_read(&dev, sizeof(dev), &sb->s_dev) < 0 ||
            bpf_core_read(&magic, sizeof(magic), &sb->s_magic) < 0)
                return incomplete(s, MOUNT_WALK_WHY_UNREADABLE);
        if (magic == NSFS_MAGIC)
                s->pins = true;
        else if (wanted(dev))
                s->pins = false;
        else
                return 0;
        s->sb = sb;
        return first_mount(s);
}

static long step(__u32 i, void *data) {
        struct loop_ctx *c = data;
        __u32 zero = 0;
        struct walk_state *s = bpf_map_lookup_elem(&walk_states, &zero);

        if (!s)
                return 1;
        switch (s->phase) {
        case AT_MOUNTS:
                return step_mount(s, c->seq);
        case AT_INODES:
                return step_inode(s, c->seq);
        default:
                return step_superblock(s);
        }
}

/* Runs once, at the first task (PID 1): its root's superblock is where
 * the walk along the superblock list begins and ends. */
SEC("iter/task")
int walk_mounts(struct bpf_iter__task *ctx) {
        struct task_struct *task = ctx->task;
        struct loop_ctx c = { .seq = ctx->meta->seq };
        struct fs_struct *fs = NULL;
        struct nsproxy *nsproxy = NULL;
        struct mnt_namespace *ns = NULL;
        struct dentry *root = NULL;
        struct super_block *sb = NULL;
        struct walk_state *s;
        __u32 zero = 0;
        long steps;

        if (!task || ctx->meta->seq_num != 0)
                return 0;
        s = bpf_map_lookup_elem(&walk_states, &zero);
        if (!s)
                return 0;
        *s = (struct walk_state) {};
        if (bpf_core_read(&fs, sizeof(fs), &task->fs) < 0 || !fs ||
            bpf_core_read(&root, sizeof(root), &fs->root.dentry) < 0 || !root ||
            bpf_core_read(&sb, sizeof(sb), &root->d_sb) < 0 || !sb ||
            bpf_core_read(&nsproxy, sizeof(nsproxy), &task->nsproxy) < 0 || !nsproxy ||
            bpf_core_read(&ns, sizeof(ns), &nsproxy->mnt_ns) < 0 || !ns ||
            bpf_core_read(&s->mnt_ns_ops, sizeof(s->mnt_ns_ops), &ns->ns.ops) < 0)
                return 0;
        s->start = (void *) sb + bpf_core_field_offset(struct super_block, s_list);
        steps = bpf_loop(MOUNT_WALK_MAX_STEPS, step, &c, 0);
        if (s->status == COMPLETE)
                write_record(s, c.seq, MOUNT_WALK_DONE, 0);
        else
                /* Why, and where: for the log of user space. */
                write_record(s, c.seq, MOUNT_WALK_INCOMPLETE,
                             (s->status == RUNNING ? MOUNT_WALK_WHY_TOO_LONG : s->why) | (__u32) s->phase << 4 |
                                     (__u32) (steps < 0 ? 0 : steps) << 8);
        return 0;
}
