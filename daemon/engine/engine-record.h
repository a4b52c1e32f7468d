/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a dmwardend leaves for its successor about the engine it runs:
 * runtime_dir/engine.state. Only a hint: whoever reads it checks every
 * field against the kernel before trusting the PID (engine_adopt()). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define ENGINE_RECORD_NAME "engine.state"

typedef struct EngineRecord {
        pid_t pid;
        uint64_t start_time;            /* field 22 of /proc/PID/stat: clock ticks since boot */
        uint64_t namespace_inode;
        pid_t main_pid;
        bool ready;
        char scope[256];                /* "" when there was no systemd */
} EngineRecord;

/* Written to a temporary file and renamed, so a reader never sees half. */
int engine_record_save(const char *runtime_dir, const EngineRecord *rec);
/* -ENOENT when there is none, -EBADMSG when it makes no sense. */
int engine_record_load(const char *runtime_dir, EngineRecord *ret);
int engine_record_remove(const char *runtime_dir);

/* The start time of pid, which with the PID names one process for good. */
int proc_read_start_time(pid_t pid, uint64_t *ret);
