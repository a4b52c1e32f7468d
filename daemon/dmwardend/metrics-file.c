/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmwardend/metrics-file.h"

struct MetricsFile {
        atomic_uint n_ref;              /* the loop's and a running thread's */
        atomic_bool busy;
        atomic_int result;
        int reported;                   /* the loop's: last result it was told */
};

typedef struct WriteJob {
        MetricsFile *file;
        char *dir;
        char *text;
} WriteJob;

int metrics_file_new(MetricsFile **ret) {
        MetricsFile *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        atomic_init(&m->n_ref, 1);
        *ret = m;
        return 0;
}

MetricsFile *metrics_file_unref(MetricsFile *m) {
        if (m && atomic_fetch_sub(&m->n_ref, 1) == 1)
                free(m);
        return NULL;
}

static int write_all(int fd, const char *p, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* The directory may be writable by node_exporter's user: the new file gets
 * a random name and O_EXCL|O_NOFOLLOW, so nothing planted there (a
 * symlink, a FIFO) is followed or opened, and rename() replaces whatever
 * is called dmwarden.prom without following it. */
int metrics_file_write(const char *dir, const char *text, size_t size) {
        char tmp[64];
        uint64_t rnd = 0;
        int dfd, fd, r = 0;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd ^= (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) &rnd;
        /* Not *.prom: node_exporter must never read it half written. */
        (void) snprintf(tmp, sizeof(tmp), "." METRICS_FILE_NAME ".%016llx", (unsigned long long) rnd);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
                r = -errno;
                close(dfd);
                return r;
        }
        r = write_all(fd, text, size);
        /* Readable by node_exporter whatever our umask. */
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && renameat(dfd, tmp, dfd, METRICS_FILE_NAME) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dfd, tmp, 0);
        close(dfd);
        return r;
}

static void *write_thread(void *p) {
        WriteJob *j = p;
        int r = metrics_file_write(j->dir, j->text, strlen(j->text));

        atomic_store(&j->file->result, r);
        atomic_store(&j->file->busy, false);
        metrics_file_unref(j->file);
        free(j->dir);
        free(j->text);
        free(j);
        return NULL;
}

int metrics_file_write_async(MetricsFile *m, const char *dir, char *text) {
        _cleanup_free_ char *owned = text;
        pthread_attr_t attr;
        pthread_t t;
        WriteJob *j;
        int r;

        if (atomic_exchange(&m->busy, true))
                return -EBUSY;
        j = calloc(1, sizeof(*j));
        if (!j || !(j->dir = strdup(dir))) {
                free(j);
                atomic_store(&m->busy, false);
                return -ENOMEM;
        }
        j->text = TAKE_PTR(owned);
        j->file = m;
        atomic_fetch_add(&m->n_ref, 1);
        r = -pthread_attr_init(&attr);
        if (r >= 0)
                r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r >= 0)
                r = -pthread_create(&t, &attr, write_thread, j);
        (void) pthread_attr_destroy(&attr);
        if (r < 0) {
                atomic_fetch_sub(&m->n_ref, 1);
                atomic_store(&m->busy, false);
                free(j->dir);
                free(j->text);
                free(j);
        }
        return r;
}

int metrics_file_last_result(MetricsFile *m, bool *ret_changed) {
        int r = atomic_load(&m->result);

        *ret_changed = r != m->reported;
        m->reported = r;
        return r;
}
