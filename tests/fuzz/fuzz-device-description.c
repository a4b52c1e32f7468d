/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The directory device source's description files (the privileged suite's
 * stand-in for device-mapper), for any text. Properties: a refused file is
 * -EINVAL; an accepted one has a name, a device number and every string
 * filled in. */
#include <errno.h>
#include <syslog.h>

#include "basic/log.h"
#include "fuzz.h"
#include "watch/device-source.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        /* Every refused file is logged; that is not what is measured here. */
        log_set_max_level(LOG_CRIT);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size);
        _cleanup_(device_info_done) DeviceInfo info = {};
        int r;

        if (!text)
                return 0;
        r = device_description_parse("fuzz", text, &info);
        if (r < 0) {
                fuzz_check(r == -EINVAL || r == -ENOMEM);
                return 0;
        }
        fuzz_check(info.name && info.name[0] != '\0');
        fuzz_check(info.dev != 0);
        fuzz_check(info.uuid && info.target && info.pool);
        return 0;
}
