/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The NOTIFY_SOCKET dmwardend gives its engine: an abstract datagram socket
 * (nothing on disk, reachable from any mount namespace) that tells us who
 * sent each message. */

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Opens "@dmwarden/notify/<our pid>"; *ret_address is the NOTIFY_SOCKET value. */
int notify_socket_open(int *ret_fd, char **ret_address);

/* Receives one datagram into buf (NUL-terminated, so size must leave room).
 * Returns its length; *ret_ucred is the sender (pid 0 if unknown). File
 * descriptors sent along are closed: we never want them. -EAGAIN when empty. */
ssize_t notify_socket_receive(int fd, char *buf, size_t size, struct ucred *ret_ucred);
