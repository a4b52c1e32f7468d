/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>

#include "watch/thin-status.h"

Test(thin_status, thin_mapped_bytes) {
        uint64_t b = 0;

        cr_assert_eq(thin_status_mapped_bytes("2048 4095", &b), 0);
        cr_assert_eq(b, 2048 * 512, "mapped sectors are 512 bytes each");
        cr_assert_eq(thin_status_mapped_bytes("0 -", &b), 0, "nothing mapped yet");
        cr_assert_eq(b, 0);
        cr_assert_eq(thin_status_mapped_bytes("Fail", &b), -EIO);
        cr_assert_eq(thin_status_mapped_bytes("", &b), -EINVAL);
        cr_assert_eq(thin_status_mapped_bytes("12", &b), -EINVAL, "no highest sector");
        cr_assert_eq(thin_status_mapped_bytes("-1 5", &b), -EINVAL);
        cr_assert_eq(thin_status_mapped_bytes("12x 5", &b), -EINVAL);
        cr_assert_eq(thin_status_mapped_bytes("99999999999999999999 5", &b), -EINVAL, "overflow");
        cr_assert_eq(thin_status_mapped_bytes("36028797018963968 5", &b), -ERANGE, "2^55 sectors");
}

Test(thin_status, pool_block_size_from_table) {
        uint64_t b = 0;

        cr_assert_eq(thin_pool_params_block_bytes("7:1 7:0 128 32768 1 skip_block_zeroing", &b), 0);
        cr_assert_eq(b, 64 * 1024, "128 sectors are 64 KiB");
        cr_assert_eq(thin_pool_params_block_bytes("253:0 253:1 1024 0", &b), 0);
        cr_assert_eq(b, 512 * 1024);
        cr_assert_eq(thin_pool_params_block_bytes("7:1 7:0 0 10", &b), -EINVAL, "zero block size");
        cr_assert_eq(thin_pool_params_block_bytes("7:1 7:0", &b), -EINVAL);
        cr_assert_eq(thin_pool_params_block_bytes("7:1 7:0 12k 5", &b), -EINVAL);
}

Test(thin_status, pool_status_current_kernel) {
        ThinPoolSpace s;

        /* As 6.x prints it: with the no-space policy, needs_check and the
         * metadata low water mark. */
        cr_assert_eq(thin_pool_status_parse("5 211/4096 1638/16384 - rw no_discard_passdown queue_if_no_space - 1024",
                                            64 * 1024, &s), 0);
        cr_assert_eq(s.metadata_used_bytes, 211 * 4096);
        cr_assert_eq(s.metadata_total_bytes, 4096 * 4096);
        cr_assert_eq(s.data_used_bytes, 1638ULL * 64 * 1024);
        cr_assert_eq(s.data_total_bytes, 16384ULL * 64 * 1024);
        cr_assert(!s.read_only && !s.out_of_data_space && !s.needs_check);
        cr_assert_eq(thin_space_permille(s.data_used_bytes, s.data_total_bytes), 99);
}

Test(thin_status, pool_status_modes_and_old_kernels) {
        ThinPoolSpace s;

        cr_assert_eq(thin_pool_status_parse("0 10/100 100/100 - out_of_data_space discard_passdown error_if_no_space - 25",
                                            512, &s), 0);
        cr_assert(s.out_of_data_space);
        cr_assert_eq(thin_space_permille(s.data_used_bytes, s.data_total_bytes), 1000);
        cr_assert_eq(thin_pool_status_parse("0 10/100 1/100 17 ro discard_passdown queue_if_no_space needs_check 25",
                                            512, &s), 0);
        cr_assert(s.read_only && s.needs_check);
        /* Before 4.19 there was no low water mark, before 3.x less. */
        cr_assert_eq(thin_pool_status_parse("3 1/2 3/4 - rw discard_passdown", 512, &s), 0);
        cr_assert_eq(s.data_total_bytes, 4 * 512);
}

Test(thin_status, pool_status_bad_lines) {
        ThinPoolSpace s;

        cr_assert_eq(thin_pool_status_parse("Fail", 512, &s), -EIO);
        cr_assert_eq(thin_pool_status_parse("Error", 512, &s), -EIO);
        cr_assert_eq(thin_pool_status_parse("", 512, &s), -EINVAL);
        cr_assert_eq(thin_pool_status_parse("5 211 1638/16384 - rw", 512, &s), -EINVAL, "no metadata total");
        cr_assert_eq(thin_pool_status_parse("5 211/4096 1638/16384", 512, &s), -EINVAL, "no mode");
        cr_assert_eq(thin_pool_status_parse("5 211/4096 1638/16384 - xx", 512, &s), -EINVAL);
        cr_assert_eq(thin_pool_status_parse("5 5000/4096 1/2 - rw", 512, &s), -EINVAL, "used above total");
        cr_assert_eq(thin_pool_status_parse("5 1/2 1/4611686018427387904 - rw", 8, &s), -ERANGE);
}

Test(thin_status, permille_and_bytes_for_people) {
        char buf[THIN_BYTES_STRING_MAX];

        cr_assert_eq(thin_space_permille(0, 0), 0);
        cr_assert_eq(thin_space_permille(1, 3), 333);
        cr_assert_eq(thin_space_permille(UINT64_MAX - 1, UINT64_MAX), 999, "no overflow");
        cr_assert_str_eq(thin_format_bytes(0, buf), "0 B");
        cr_assert_str_eq(thin_format_bytes(1023, buf), "1023 B");
        cr_assert_str_eq(thin_format_bytes(1024, buf), "1.0 KiB");
        cr_assert_str_eq(thin_format_bytes(1288490189, buf), "1.2 GiB");
        cr_assert_str_eq(thin_format_bytes(3 * 1024 * 1024 + 512 * 1024, buf), "3.5 MiB");
        cr_assert_str_eq(thin_format_bytes(UINT64_MAX, buf), "15.9 EiB");
}
