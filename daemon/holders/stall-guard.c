/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "holders/stall-guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "basic/array.h"

typedef struct Step {
        uint64_t key;
        unsigned n;           /* scans under way in it */
        usec_t since;         /* CLOCK_MONOTONIC of the oldest */
} Step;

struct StallGuard {
        pthread_mutex_t lock;
        unsigned n_ref;       /* under lock */
        usec_t grace;
        Step *steps;
        size_t n_steps;
};

int stall_guard_new(usec_t grace, StallGuard **ret) {
        StallGuard *g = calloc(1, sizeof(*g));

        if (!g)
                return -ENOMEM;
        if (pthread_mutex_init(&g->lock, NULL) != 0) {
                free(g);
                return -ENOMEM;
        }
        g->n_ref = 1;
        g->grace = grace;
        *ret = g;
        return 0;
}

StallGuard *stall_guard_ref(StallGuard *g) {
        if (g) {
                pthread_mutex_lock(&g->lock);
                g->n_ref++;
                pthread_mutex_unlock(&g->lock);
        }
        return g;
}

StallGuard *stall_guard_unref(StallGuard *g) {
        unsigned left;

        if (!g)
                return NULL;
        pthread_mutex_lock(&g->lock);
        left = --g->n_ref;
        pthread_mutex_unlock(&g->lock);
        if (left == 0) {
                pthread_mutex_destroy(&g->lock);
                free(g->steps);
                free(g);
        }
        return NULL;
}

static Step *find_step(StallGuard *g, uint64_t key) {
        for (size_t i = 0; i < g->n_steps; i++)
                if (g->steps[i].key == key)
                        return &g->steps[i];
        return NULL;
}

int stall_guard_enter(StallGuard *g, uint64_t key) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        Step *s;
        int r = 0;

        if (!g)
                return 0;
        pthread_mutex_lock(&g->lock);
        s = find_step(g, key);
        if (s && now - s->since > g->grace)
                r = -EBUSY;
        else if (s)
                s->n++;
        else
                r = array_append((void **) &g->steps, &g->n_steps, sizeof(Step),
                                 &(Step) { .key = key, .n = 1, .since = now });
        pthread_mutex_unlock(&g->lock);
        return r < 0 ? r : 0;
}

void stall_guard_leave(StallGuard *g, uint64_t key) {
        Step *s;

        if (!g)
                return;
        pthread_mutex_lock(&g->lock);
        s = find_step(g, key);
        if (s && --s->n == 0)
                /* Order does not matter: the last one takes its place. */
                *s = g->steps[--g->n_steps];
        pthread_mutex_unlock(&g->lock);
}

size_t stall_guard_stalled(StallGuard *g) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        size_t n = 0;

        if (!g)
                return 0;
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_steps; i++)
                n += now - g->steps[i].since > g->grace;
        pthread_mutex_unlock(&g->lock);
        return n;
}
