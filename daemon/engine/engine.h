/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine supervisor: runs the container engine in a mount namespace of
 * its own and in a systemd scope of its own, and keeps it running as
 * systemd would (readiness, stop timeout, restarts with back-off and a
 * start limit). The engine outlives dmwardend: a dmwardend that starts
 * adopts the engine its predecessor left running. Owns the engine's pidfd,
 * namespace pin, record, notify socket and inherited sockets. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "engine/restart-policy.h"

typedef enum EngineState {
        ENGINE_NONE,            /* not running, nothing planned */
        ENGINE_STARTING,        /* started or waiting to restart; not ready yet */
        ENGINE_RUNNING,
        ENGINE_STOPPING,
        ENGINE_FAILED,          /* gave up: start limit, or exited and no restart */
        _ENGINE_STATE_MAX,
} EngineState;

typedef struct Engine Engine;

/* Called on every state change, and when the engine's STATUS= changes. */
typedef void (*EngineChanged)(Engine *e, void *userdata);

struct Engine {
        sd_event *event;
        const Config *config;   /* the manager's; replaced on reload */
        char *runtime_dir;
        char *pin_path;

        char *scope;            /* the engine's scope; NULL: none (no systemd) */
        char *our_unit;         /* dmwardend's own unit */

        EngineState state;
        pid_t pid;              /* the process we started, or adopted */
        int pidfd;              /* of pid */
        uint64_t start_time;    /* of pid, clock ticks since boot: its identity with the PID */
        bool adopted;           /* left running by a previous dmwardend */
        pid_t main_pid;         /* MAINPID= if it sent one, else pid */
        uint64_t namespace_inode;
        char *status;           /* the engine's own STATUS= */
        int last_exit_code;     /* si_code and si_status of the last exit */
        int last_exit_status;

        bool stop_requested;
        bool start_timed_out;
        unsigned failures_in_row;
        uint64_t restarts;      /* automatic restarts since dmwardend started */
        StartLimit start_limit;
        usec_t started_usec;

        int notify_fd;
        char *notify_address;
        int *listen_fds;
        size_t n_listen_fds;
        char *listen_fdnames;

        sd_event_source *notify_source;
        sd_event_source *child_source;  /* a child we started: its exit status */
        sd_event_source *pidfd_source;  /* an adopted engine: only that it exited */
        sd_event_source *timer_source;  /* start timeout, stop timeout, restart delay, readiness probe */
        sd_event_source *ready_probe_source;

        EngineChanged on_change;
        void *userdata;
};

/* The engine takes over inherited sockets (LISTEN_FDS) from the caller. */
int engine_new(sd_event *event, const Config *config, const char *runtime_dir,
               int *listen_fds, size_t n_listen_fds, const char *listen_fdnames, Engine **ret);
Engine *engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

int engine_start(Engine *e);
/* Takes over the engine a previous dmwardend left running, if its record
 * still names it (PID, start time, namespace, scope, all checked against
 * the kernel). 1: adopted; 0: nothing to adopt (start one). */
int engine_adopt(Engine *e);
/* Before dmwardend re-executes itself: hands the inherited sockets on
 * across execve() (LISTEN_FDS), as systemd would. The engine keeps running;
 * the new dmwardend adopts it. */
int engine_prepare_reexec(Engine *e);
/* SIGTERM, then SIGKILL after StopTimeoutSec=. State reaches ENGINE_NONE
 * once the process is gone (at once if none runs). */
int engine_stop(Engine *e);
/* Whether the engine process exists (so stopping has to wait for it). An
 * engine still alive when its Engine is freed keeps running, with its pin
 * and record, for the next dmwardend to adopt. */
bool engine_is_alive(const Engine *e);
void engine_set_config(Engine *e, const Config *config);
int engine_kill(Engine *e, int sig);

const char *engine_state_to_string(EngineState s);
