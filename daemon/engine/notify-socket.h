/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The NOTIFY_SOCKET dmwardend gives its engine: a datagram socket in
 * dmwardend's runtime directory (root's, so no other user can take the name
 * first, as anyone can an abstract one; the engine namespace is a copy of
 * ours, so it reaches the same file), mode 0600, that tells us who sent
 * each message. */

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NOTIFY_SOCKET_NAME "engine-notify"

/* Opens runtime_dir/engine-notify (replacing a stale one); *ret_address is
 * the NOTIFY_SOCKET value. */
int notify_socket_open(const char *runtime_dir, int *ret_fd, char **ret_address);

/* Receives one datagram into buf (NUL-terminated, so size must leave room).
 * Returns its length; *ret_ucred is the sender (pid 0 if unknown). File
 * descriptors sent along are closed: we never want them. -EAGAIN when empty. */
ssize_t notify_socket_receive(int fd, char *buf, size_t size, struct ucred *ret_ucred);
