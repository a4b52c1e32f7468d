/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of thin and thin-pool status lines and pool tables, field by
 * field with overflow checks: the lines come from the kernel, but a test
 * source or a future kernel may say anything. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "watch/thin-status.h"

/* One decimal number at *p, then a separator (sep, or end of string when
 * sep is ' ' and the line ends); *p moves past both. */
static int next_u64(const char **p, char sep, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (**p < '0' || **p > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(*p, &end, 10);
        if (errno != 0)
                return -EINVAL;
        if (*end == sep)
                end++;
        else if (!(sep == ' ' && *end == '\0'))
                return -EINVAL;
        *p = end;
        *ret = v;
        return 0;
}

static int mul_u64(uint64_t a, uint64_t b, uint64_t *ret) {
        if (b != 0 && a > UINT64_MAX / b)
                return -ERANGE;
        *ret = a * b;
        return 0;
}

static bool failed(const char *status) {
        return streq(status, "Fail") || streq(status, "Error");
}

int thin_status_mapped_bytes(const char *status, uint64_t *ret) {
        const char *p = status;
        uint64_t sectors;

        if (!status)
                return -EINVAL;
        if (failed(status))
                return -EIO;
        if (next_u64(&p, ' ', &sectors) < 0)
                return -EINVAL;
        /* The highest mapped sector, or "-" when nothing is mapped. */
        if (!streq(p, "-") && (!*p || strspn(p, "0123456789") != strlen(p)))
                return -EINVAL;
        return mul_u64(sectors, THIN_SECTOR_BYTES, ret);
}

int thin_pool_params_block_bytes(const char *params, uint64_t *ret) {
        char meta[64], data[64];
        unsigned long long sectors;
        int n = 0;

        if (!params || sscanf(params, "%63s %63s %llu%n", meta, data, &sectors, &n) != 3 || sectors == 0)
                return -EINVAL;
        if (params[n] != '\0' && params[n] != ' ')
                return -EINVAL;
        return mul_u64(sectors, THIN_SECTOR_BYTES, ret);
}

int thin_pool_status_parse(const char *status, uint64_t data_block_bytes, ThinPoolSpace *ret) {
        const char *p = status;
        uint64_t transaction, meta_used, meta_total, data_used, data_total;
        ThinPoolSpace s = {};
        int r;

        if (!status)
                return -EINVAL;
        if (failed(status))
                return -EIO;
        if (next_u64(&p, ' ', &transaction) < 0 || next_u64(&p, '/', &meta_used) < 0 ||
            next_u64(&p, ' ', &meta_total) < 0 || next_u64(&p, '/', &data_used) < 0 ||
            next_u64(&p, ' ', &data_total) < 0)
                return -EINVAL;
        if (meta_used > meta_total || data_used > data_total)
                return -EINVAL;
        /* The held metadata root ("-" or a block), then the mode. */
        p = strchr(p, ' ');
        if (!p)
                return -EINVAL;
        p++;
        if (strncmp(p, "ro", 2) == 0 && (p[2] == ' ' || p[2] == '\0'))
                s.read_only = true;
        else if (strncmp(p, "out_of_data_space", 17) == 0)
                s.out_of_data_space = true;
        else if (strncmp(p, "rw", 2) != 0)
                return -EINVAL;
        s.needs_check = strstr(p, " needs_check") != NULL;

        r = mul_u64(meta_used, THIN_METADATA_BLOCK_BYTES, &s.metadata_used_bytes);
        if (r >= 0)
                r = mul_u64(meta_total, THIN_METADATA_BLOCK_BYTES, &s.metadata_total_bytes);
        if (r >= 0)
                r = mul_u64(data_used, data_block_bytes, &s.data_used_bytes);
        if (r >= 0)
                r = mul_u64(data_total, data_block_bytes, &s.data_total_bytes);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

unsigned thin_space_permille(uint64_t used, uint64_t total) {
        if (total == 0)
                return 0;
        if (used >= total)
                return 1000;
        /* used * 1000 overflows 64 bits for pools past 16 PiB. */
        return (unsigned) ((unsigned __int128) used * 1000 / total);
}

const char *thin_format_bytes(uint64_t bytes, char buf[static THIN_BYTES_STRING_MAX]) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        uint64_t scale = 1024;
        size_t i = 0;

        if (bytes < 1024) {
                (void) snprintf(buf, THIN_BYTES_STRING_MAX, "%" PRIu64 " B", bytes);
                return buf;
        }
        while (i + 1 < ELEMENTSOF(units) && bytes / scale >= 1024) {
                scale *= 1024;
                i++;
        }
        /* One decimal, rounded down, as df -h would show it. */
        (void) snprintf(buf, THIN_BYTES_STRING_MAX, "%" PRIu64 ".%" PRIu64 " %s", bytes / scale,
                        (bytes % scale) * 10 / scale, units[i]);
        return buf;
}
