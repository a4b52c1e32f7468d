/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What device-mapper's thin and thin-pool targets say about space: their
 * status lines and the pool's table, parsed into bytes. Pure: the unit
 * suite runs it on the kernel's documented lines. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unknown: not a thin device, or its status did not say. */
#define THIN_BYTES_UNKNOWN UINT64_MAX

/* Metadata blocks are always 4 KiB (Documentation/admin-guide/
 * device-mapper/thin-provisioning.rst). */
#define THIN_METADATA_BLOCK_BYTES 4096ULL
#define THIN_SECTOR_BYTES 512ULL

typedef struct ThinPoolSpace {
        uint64_t data_used_bytes;
        uint64_t data_total_bytes;
        uint64_t metadata_used_bytes;
        uint64_t metadata_total_bytes;
        bool read_only;         /* "ro": the pool allocates nothing more */
        bool out_of_data_space;
        bool needs_check;
} ThinPoolSpace;

/* A thin target's status, "<mapped sectors> <highest mapped sector>|-":
 * the bytes it maps. -EIO for "Fail", -EINVAL for anything else. */
int thin_status_mapped_bytes(const char *status, uint64_t *ret);

/* The data block size (in bytes) from a thin-pool table's parameters,
 * "<metadata dev> <data dev> <data block size> <low water mark> ...". */
int thin_pool_params_block_bytes(const char *params, uint64_t *ret);

/* A thin-pool target's status, "<transaction id> <used>/<total metadata
 * blocks> <used>/<total data blocks> <held root> ro|rw|out_of_data_space
 * ...", with the data block size from its table. -EIO for "Fail" or
 * "Error", -EINVAL for anything else. */
int thin_pool_status_parse(const char *status, uint64_t data_block_bytes, ThinPoolSpace *ret);

/* Per mille of total that used is (0 when total is 0), rounded down. */
unsigned thin_space_permille(uint64_t used, uint64_t total);

/* "1.2 GiB", "512 B", "3.0 MiB": buf of at least THIN_BYTES_STRING_MAX. */
#define THIN_BYTES_STRING_MAX 32
const char *thin_format_bytes(uint64_t bytes, char buf[static THIN_BYTES_STRING_MAX]);
