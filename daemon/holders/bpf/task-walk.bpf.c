/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0-only */
/* The task walk: the per-process part of a holder scan, done by the kernel
 * in one pass instead of by reading /proc. Three iterators, each writing
 * fixed-size records (task-walk-record.h) to the file user space reads:
 *
 *   walk_tasks   every task: its IDs, mount namespace, and whether its cwd,
 *                root or executable may be on a device asked about;
 *   walk_files   every open file that may reference such a device (on its
 *                filesystem, or its node) or is a namespace;
 *   walk_maps    every file-backed mapping on such a filesystem.
 *
 * "May": a file on overlayfs is reported too, since what stat() says of it
 * depends on its layers. User space reads /proc for the few processes
 * named, with the same code as the /proc walk, so both walks give the
 * same report; the kernel's part only chooses whom to look at.
 * Licensed GPL-compatible as the kernel requires of bpf_seq_write(). */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "kernel-types.h"
#include "task-walk-record.h"
#include "wanted-devs.h"

#define PF_KTHREAD 0x00200000
#define S_IFMT 0170000
#define S_IFBLK 0060000
#define NSFS_MAGIC 0x6e736673
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

char LICENSE[] SEC("license") = "GPL";

static bool on_wanted_filesystem(struct super_block *sb) {
        return sb && (wanted(sb->s_dev) || sb->s_magic == OVERLAYFS_SUPER_MAGIC);
}

SEC("iter/task")
int walk_tasks(struct bpf_iter__task *ctx) {
        struct task_struct *task = ctx->task;
        struct task_walk_task r = {};
        struct nsproxy *nsproxy;
        struct fs_struct *fs;
        struct mm_struct *mm;

        if (!task)
                return 0;
        r.tid = task->pid;
        r.tgid = task->tgid;
        if (task->flags & PF_KTHREAD)
                r.flags |= TASK_WALK_KTHREAD;
        nsproxy = task->nsproxy;
        if (nsproxy && nsproxy->mnt_ns)
                r.mntns = nsproxy->mnt_ns->ns.inum;
        else
                r.flags |= TASK_WALK_NO_NS;
        fs = task->fs;
        if (fs) {
                if (on_wanted_filesystem(fs->pwd.dentry->d_sb))
                        r.flags |= TASK_WALK_HIT_CWD;
                if (on_wanted_filesystem(fs->root.dentry->d_sb))
                        r.flags |= TASK_WALK_HIT_ROOT;
        }
        mm = task->mm;
        if (mm && mm->exe_file && on_wanted_filesystem(mm->exe_file->f_inode->i_sb))
                r.flags |= TASK_WALK_HIT_EXE;
        bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
        return 0;
}

SEC("iter/task_file")
int walk_files(struct bpf_iter__task_file *ctx) {
        struct task_struct *task = ctx->task;
        struct file *file = ctx->file;
        struct task_walk_hit r = {};
        struct inode *inode;
        struct super_block *sb;

        if (!task || !file)
                return 0;
        inode = file->f_inode;
        if (!inode)
                return 0;
        sb = inode->i_sb;
        if (!on_wanted_filesystem(sb) && !(sb && sb->s_magic == NSFS_MAGIC) &&
            !((inode->i_mode & S_IFMT) == S_IFBLK && wanted(inode->i_rdev)))
                return 0;
        r.tid = task->pid;
        r.tgid = task->tgid;
        r.kind = TASK_WALK_FILE;
        r.fd = ctx->fd;
        bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
        return 0;
}

SEC("iter/task_vma")
int walk_maps(struct bpf_iter__task_vma *ctx) {
        struct task_struct *task = ctx->task;
        struct vm_area_struct *vma = ctx->vma;
        struct task_walk_hit r = {};
        struct file *file;

        if (!task || !vma)
                return 0;
        file = vma->vm_file;
        if (!file || !on_wanted_filesystem(file->f_inode->i_sb))
                return 0;
        r.tid = task->pid;
        r.tgid = task->tgid;
        r.kind = TASK_WALK_MAP;
        bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
        return 0;
}
