/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Confines the calling process to what the detach helper does once it is
 * in a holder's mount namespace: statx(), mount() (to make a mount
 * private), umount2(), write() (its report) and exit. Every capability
 * but CAP_SYS_ADMIN goes, from the bounding set too; no_new_privs is set;
 * a seccomp filter fails every other system call with EPERM (any call of
 * a foreign ABI, such as x32 or i386 on x86-64, too). Irreversible: call
 * it in a child about to do only that. Returns 0 or a negative errno. */
int confine_to_unmount(void);
