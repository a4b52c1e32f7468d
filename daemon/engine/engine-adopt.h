/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Whether the engine a record names is still that engine: a PID file is
 * never trusted blindly. The process must exist, have the recorded start
 * time (so the PID was not reused), live in the recorded mount namespace,
 * and run in our engine scope where there is systemd. */

#include <stddef.h>

#include "engine/engine-record.h"

/* 1: it is (*ret_pidfd: a pidfd of it); 0: it is not, and why says so;
 * negative errno when it cannot be told. scope: our engine scope, NULL
 * without systemd. */
int engine_record_verify(const EngineRecord *rec, const char *scope, int *ret_pidfd, char *why, size_t why_size);
