/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The device sources: names as the kernel has them. */
#include <criterion/criterion.h>
#include <libdevmapper.h>

#include "device-source.h"

Test(device_source_dm, names_are_not_mangled) {
        DeviceSource *s = NULL;

        cr_assert_eq(device_source_dm_new(&s), 0);
        cr_assert_eq(dm_get_name_mangling_mode(), DM_STRING_MANGLING_NONE,
                     "libdevmapper would rewrite names with blanks or other bytes into \\xNN form");
        device_source_free(s);
}
