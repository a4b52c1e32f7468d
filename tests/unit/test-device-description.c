/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The directory source's description files: a failed target is described
 * with its space unknown; a status that does not parse is a bad file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "watch/device-source.h"
#include "watch/thin-status.h"

static int parse(const char *text, DeviceInfo *info) {
        char *copy = strdup(text);
        int r;

        cr_assert_not_null(copy);
        r = device_description_parse("test", copy, info);
        free(copy);
        return r;
}

Test(device_description, failed_thin_target_is_described_with_space_unknown) {
        DeviceInfo info = {};

        cr_assert_eq(parse("name=l\ndev=7:2\nstatus=Fail\ntarget=thin\n", &info), 0);
        cr_assert_str_eq(info.name, "l");
        cr_assert_eq(info.mapped_bytes, THIN_BYTES_UNKNOWN);
        device_info_done(&info);
}

Test(device_description, unparsable_status_is_refused_as_invalid) {
        DeviceInfo info = {};

        cr_assert_eq(parse("name=l\ndev=7:2\ntarget=thin\nstatus=12x 5\n", &info), -EINVAL);
        cr_assert_eq(parse("name=l\ndev=7:2\ntarget=thin\nstatus=36028797018963968 5\n", &info), -EINVAL,
                     "a size past 64 bits is a bad file, not a range error");
}

Test(device_description, thin_target_status_gives_mapped_bytes) {
        DeviceInfo info = {};

        cr_assert_eq(parse("name=t\ndev=253:4\ntarget=thin\nstatus=2048 4095\n", &info), 0);
        cr_assert_eq(info.mapped_bytes, 2048 * 512);
        device_info_done(&info);
}
