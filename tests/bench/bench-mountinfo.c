/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two mountinfo parsers of the holders layer against libmount's on the
 * same text: the per-device table of a holder scan (mountinfo.c) and the
 * device set the engine's mounts are followed by (mount-devices.c), each
 * done once by hand and once by mnt_table_parse_stream() with the
 * iterator. Prints a Markdown table of median times and the ratio
 * libmount / hand; asserts nothing. No root needed. */
#include <errno.h>
#include <getopt.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "basic/macro.h"
#include "holders/mount-devices.h"
#include "holders/mount-table.h"
#include "holders/mountinfo.h"

#define TARGET_MAJOR 253
#define TARGET_MINOR 7

typedef struct Text {
        char *buf;
        size_t size;
} Text;

_noreturn_ static void die(const char *what, int r) {
        fprintf(stderr, "bench-mountinfo: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(EXIT_FAILURE);
}

/* A docker host's table as the kernel writes it: mostly overlay mounts with
 * long option strings, device-mapper thin mounts, a few escaped names and
 * nsfs pins, and the target device mounted twice. */
static Text make_text(unsigned lines) {
        FILE *f;
        Text t = {};

        f = open_memstream(&t.buf, &t.size);
        if (!f)
                die("open_memstream", errno);
        fprintf(f, "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n");
        for (unsigned i = 1; i < lines; i++) {
                unsigned id = 100 + i;

                if (i == lines / 3 || i == 2 * lines / 3)
                        fprintf(f, "%u 22 %d:%d / /var/lib/docker/devicemapper/mnt/target\\040%u rw,relatime shared:%u master:2 - xfs /dev/mapper/docker-thin-target rw,nouuid,attr2,inode64,logbufs=8,logbsize=64k,sunit=128,swidth=128,noquota\n",
                                id, TARGET_MAJOR, TARGET_MINOR, i, i);
                else if (i % 50 == 0)
                        fprintf(f, "%u 22 0:4 mnt:[%u] /run/docker/netns/pin%u rw - nsfs nsfs rw\n",
                                id, 4026532000u + i, i);
                else if (i % 10 == 0)
                        fprintf(f, "%u 22 253:%u / /var/lib/docker/devicemapper/mnt/%064x rw,relatime shared:%u - xfs /dev/mapper/docker-253:0-1234-%064x rw,nouuid,attr2,inode64,logbufs=8,logbsize=64k,sunit=128,swidth=128,noquota\n",
                                id, 10 + i % 1000, i, i, i);
                else
                        fprintf(f, "%u 22 0:%u / /var/lib/docker/overlay2/%064x/merged rw,relatime shared:%u - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABCDEFGHIJ%u:/var/lib/docker/overlay2/l/KLMNOPQRST%u,upperdir=/var/lib/docker/overlay2/%064x/diff,workdir=/var/lib/docker/overlay2/%064x/work,nouserxattr\n",
                                id, 100 + i % 10000, i, i, i, i, i, i);
        }
        if (fclose(f) != 0)
                die("writing the table", errno);
        return t;
}

static double now_ms(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int libmount_parse(const Text *t, struct libmnt_table **ret) {
        struct libmnt_table *tb;
        FILE *f;
        int r;

        f = fmemopen(t->buf, t->size, "r");
        if (!f)
                return -errno;
        tb = mnt_new_table();
        if (!tb) {
                fclose(f);
                return -ENOMEM;
        }
        r = mnt_table_parse_stream(tb, f, "mountinfo");
        fclose(f);
        if (r < 0) {
                mnt_unref_table(tb);
                return r;
        }
        *ret = tb;
        return 0;
}

/* What mountinfo.c does, by libmount: the mounts of dev and the mount
 * namespace pins, copied into a MountTable. */
static int libmount_table(const Text *text, dev_t dev, MountTable *t) {
        struct libmnt_table *tb = NULL;
        struct libmnt_iter *it;
        struct libmnt_fs *fs;
        int r;

        r = libmount_parse(text, &tb);
        if (r < 0)
                return r;
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!it) {
                mnt_unref_table(tb);
                return -ENOMEM;
        }
        while (r >= 0 && mnt_table_next_fs(tb, it, &fs) == 0) {
                const char *type = mnt_fs_get_fstype(fs), *root = mnt_fs_get_root(fs);
                bool is_nsfs = type && strcmp(type, "nsfs") == 0;
                MountEntry e = { .id = (uint32_t) mnt_fs_get_id(fs), .dev = mnt_fs_get_devno(fs) };

                if ((e.dev != dev && !is_nsfs) || !root)
                        continue;
                if (is_nsfs && nsfs_name_parse(root, "mnt", &e.pinned_mntns) < 0)
                        continue;
                e.root = strdup(root);
                e.mount_point = strdup(mnt_fs_get_target(fs) ?: "");
                e.fstype = strdup(type ?: "");
                e.source = strdup(mnt_fs_get_source(fs) ?: "");
                r = e.root && e.mount_point && e.fstype && e.source ? mount_table_add(t, &e) : -ENOMEM;
                mount_entry_done(&e);
        }
        mnt_free_iter(it);
        mnt_unref_table(tb);
        return r;
}

static int dev_compare(const void *a, const void *b) {
        dev_t x = *(const dev_t *) a, y = *(const dev_t *) b;

        return x < y ? -1 : x > y;
}

/* What mount-devices.c does, by libmount: every device, sorted, unique. */
static int libmount_devices(const Text *text, DevSet *ret) {
        struct libmnt_table *tb = NULL;
        struct libmnt_iter *it;
        struct libmnt_fs *fs;
        DevSet s = {};
        size_t unique = 0;
        int r;

        r = libmount_parse(text, &tb);
        if (r < 0)
                return r;
        it = mnt_new_iter(MNT_ITER_FORWARD);
        s.devs = calloc((size_t) mnt_table_get_nents(tb) + 1, sizeof(dev_t));
        if (!it || !s.devs) {
                mnt_free_iter(it);
                mnt_unref_table(tb);
                free(s.devs);
                return -ENOMEM;
        }
        while (mnt_table_next_fs(tb, it, &fs) == 0)
                s.devs[s.n++] = mnt_fs_get_devno(fs);
        mnt_free_iter(it);
        mnt_unref_table(tb);
        qsort(s.devs, s.n, sizeof(dev_t), dev_compare);
        for (size_t i = 0; i < s.n; i++)
                if (unique == 0 || s.devs[unique - 1] != s.devs[i])
                        s.devs[unique++] = s.devs[i];
        s.n = unique;
        *ret = s;
        return 0;
}

typedef enum Method { HAND_TABLE, LIBMOUNT_TABLE, HAND_DEVICES, LIBMOUNT_DEVICES, _METHOD_MAX } Method;

static const char *const method_names[_METHOD_MAX] = {
        [HAND_TABLE] = "table of one device, head filter + libmount (mountinfo.c)",
        [LIBMOUNT_TABLE] = "table of one device, libmount alone",
        [HAND_DEVICES] = "device set, by hand (mount-devices.c)",
        [LIBMOUNT_DEVICES] = "device set, libmount alone",
};

/* One run; returns what it found, to check both agree. */
static size_t run_once(Method m, const Text *t) {
        dev_t dev = makedev(TARGET_MAJOR, TARGET_MINOR);
        _cleanup_(mount_table_done) MountTable table = {};
        _cleanup_(dev_set_done) DevSet set = {};
        int r;

        switch (m) {
        case HAND_TABLE:
                r = mount_table_parse_mountinfo(t->buf, t->size, dev, &table);
                break;
        case LIBMOUNT_TABLE:
                r = libmount_table(t, dev, &table);
                break;
        case HAND_DEVICES:
                r = mountinfo_parse_devices(t->buf, &set);
                break;
        default:
                r = libmount_devices(t, &set);
                break;
        }
        if (r < 0)
                die(method_names[m], r);
        return m == HAND_TABLE || m == LIBMOUNT_TABLE ? table.n_entries : set.n;
}

static int double_compare(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

typedef struct Result {
        double wall, cpu;       /* medians, ms */
        size_t found;
} Result;

static Result measure(Method m, const Text *t, unsigned repeat) {
        _cleanup_free_ double *wall = calloc(repeat, sizeof(double)), *cpu = calloc(repeat, sizeof(double));
        Result res = {};

        if (!wall || !cpu)
                die("calloc", ENOMEM);
        res.found = run_once(m, t); /* warm the allocator and the caches */
        for (unsigned i = 0; i < repeat; i++) {
                double w = now_ms(CLOCK_MONOTONIC), c = now_ms(CLOCK_PROCESS_CPUTIME_ID);

                if (run_once(m, t) != res.found)
                        die("results differ between runs", EINVAL);
                wall[i] = now_ms(CLOCK_MONOTONIC) - w;
                cpu[i] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c;
        }
        qsort(wall, repeat, sizeof(double), double_compare);
        qsort(cpu, repeat, sizeof(double), double_compare);
        res.wall = wall[repeat / 2];
        res.cpu = cpu[repeat / 2];
        return res;
}

static void bench_size(unsigned lines, unsigned repeat) {
        Text t = make_text(lines);
        Result res[_METHOD_MAX];

        for (Method m = 0; m < _METHOD_MAX; m++)
                res[m] = measure(m, &t, repeat);
        if (res[HAND_TABLE].found != res[LIBMOUNT_TABLE].found ||
            res[HAND_DEVICES].found != res[LIBMOUNT_DEVICES].found)
                die("the parsers disagree", EINVAL);

        for (Method m = 0; m < _METHOD_MAX; m++) {
                Method hand = m == LIBMOUNT_TABLE ? HAND_TABLE : m == LIBMOUNT_DEVICES ? HAND_DEVICES : m;

                printf("| %u | %s | %zu | %.3f | %.3f | %.1f |\n", lines, method_names[m], res[m].found,
                       res[m].wall, res[m].cpu, res[m].cpu / res[hand].cpu);
        }
        free(t.buf);
}

static void help(void) {
        printf("bench-mountinfo [--lines N,...] [--repeat R]\n\n"
               "Times the hand-written mountinfo parsers against libmount on\n"
               "generated tables of N lines (default 1000,20000), R times each\n"
               "(default: 500,000 / N, at least 5), and prints medians.\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "lines", required_argument, NULL, 'l' },
                { "repeat", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *lines = "1000,20000";
        unsigned repeat = 0;
        int c;

        while ((c = getopt_long(argc, argv, "l:r:h", options, NULL)) >= 0)
                switch (c) {
                case 'l':
                        lines = optarg;
                        break;
                case 'r':
                        repeat = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }

        printf("| lines | parser | found | median ms | CPU ms | x hand |\n");
        printf("|---:|---|---:|---:|---:|---:|\n");
        for (const char *p = lines; *p;) {
                char *end;
                unsigned long n = strtoul(p, &end, 10);

                if (n == 0 || end == p || (*end && *end != ','))
                        die("--lines", EINVAL);
                bench_size((unsigned) n, repeat ?: (unsigned) (500000 / n > 5 ? 500000 / n : 5));
                p = *end ? end + 1 : end;
        }
        return EXIT_SUCCESS;
}
