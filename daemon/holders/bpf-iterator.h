/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a BPF iterator: every record one pass of its program writes.
 * Shared by the task walk and the mount walk (task-walk-bpf.c,
 * mount-walk-bpf.c); built only with -Dbpf. */

#include <stddef.h>

/* Creates an iterator from link_fd and reads it to the end: *ret_n records
 * of size bytes each in *ret (to be freed). -EBADMSG if the bytes read are
 * not whole records. */
int bpf_iterator_read(int link_fd, size_t size, void **ret, size_t *ret_n);
