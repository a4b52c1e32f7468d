/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0-only */
#pragma once

/* The few kernel structures the task walk reads, with the members it reads
 * and no others. preserve_access_index makes every access a CO-RE
 * relocation: libbpf finds each member by name in the running kernel's
 * BTF at load time, so the program does not depend on the layout of the
 * kernel it was built on, and needs no vmlinux.h from the build machine. */

#define __kernel_type __attribute__((preserve_access_index))

struct seq_file;

struct bpf_iter_meta {
        struct seq_file *seq;
        __u64 seq_num;                /* 0 for the first object shown */
} __kernel_type;

struct list_head {
        struct list_head *next;
} __kernel_type;

struct dentry;
struct mount;

struct super_block {
        struct list_head s_list;      /* on the kernel's list of them all */
        __u32 s_dev;
        unsigned long s_magic;
        struct dentry *s_root;
        struct list_head s_inodes;    /* every inode of it in the cache */
} __kernel_type;

/* Its mounts: a list through mount.mnt_instance (6.12 and before), a chain
 * through mount.mnt_next_for_sb in 6.18. */
struct super_block___list {
        struct list_head s_mounts;
} __kernel_type;

struct super_block___chain {
        struct mount *s_mounts;
} __kernel_type;

struct rb_node;

struct rb_root {
        struct rb_node *rb_node;
} __kernel_type;

struct rb_root_cached {
        struct rb_root rb_root;
} __kernel_type;

struct address_space {
        struct rb_root_cached i_mmap; /* every mapping of it */
} __kernel_type;

struct inode {
        __u16 i_mode;
        struct super_block *i_sb;
        struct address_space *i_mapping;
        __u32 i_rdev;
        struct list_head i_sb_list;   /* on its superblock's s_inodes */
        void *i_private;              /* nsfs: the namespace's ns_common */
} __kernel_type;

struct dentry {
        struct super_block *d_sb;
        struct inode *d_inode;
} __kernel_type;

struct vfsmount {
        struct dentry *mnt_root;
        struct super_block *mnt_sb;
} __kernel_type;

struct mnt_namespace;

/* fs/mount.h: the kernel's side of a vfsmount. */
struct mount {
        struct vfsmount mnt;
        struct mnt_namespace *mnt_ns;
} __kernel_type;

struct mount___list {
        struct list_head mnt_instance;
} __kernel_type;

struct mount___chain {
        struct mount *mnt_next_for_sb;
} __kernel_type;

struct path {
        struct vfsmount *mnt;
        struct dentry *dentry;
} __kernel_type;

struct file {
        struct inode *f_inode;
} __kernel_type;

struct fs_struct {
        struct path root;
        struct path pwd;
} __kernel_type;

struct proc_ns_operations;

struct ns_common {
        const struct proc_ns_operations *ops;   /* one per namespace type */
        unsigned int inum;
} __kernel_type;

struct mnt_namespace {
        struct ns_common ns;
} __kernel_type;

struct nsproxy {
        struct mnt_namespace *mnt_ns;
} __kernel_type;

struct mm_struct {
        struct file *exe_file;
} __kernel_type;

struct task_struct {
        unsigned int flags;
        int pid;
        int tgid;
        struct task_struct *group_leader;
        struct fs_struct *fs;
        struct nsproxy *nsproxy;
        struct mm_struct *mm;
} __kernel_type;

struct vm_area_struct {
        struct file *vm_file;
} __kernel_type;

/* The iterators' contexts (include/linux/bpf.h, kernel/bpf/task_iter.c). */
struct bpf_iter__task {
        struct bpf_iter_meta *meta;
        struct task_struct *task;
} __kernel_type;

struct bpf_iter__task_file {
        struct bpf_iter_meta *meta;
        struct task_struct *task;
        __u32 fd;
        struct file *file;
} __kernel_type;

struct bpf_iter__task_vma {
        struct bpf_iter_meta *meta;
        struct task_struct *task;
        struct vm_area_struct *vma;
} __kernel_type;
