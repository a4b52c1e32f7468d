#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The layers of daemon/ keep their rule (check-layers.py), and the check
# catches each way of breaking it, shown by the fixtures in tests/data/layers.
set -uo pipefail

top=${DMWARDEN_SOURCE_ROOT:?run through meson}
check=$top/tests/unit/check-layers.py
fixtures=$top/tests/data/layers
failed=0

fail() { echo "FAIL: $*" >&2; failed=1; }

out=$(python3 "$check" "$top/daemon") || fail "daemon/ breaks the layer rule:"$'\n'"$out"
echo "$out"

# Each fixture must be refused, with the line that says why.
expect_refused() {
        local tree=$1 why=$2 out
        if out=$(python3 "$check" "$fixtures/$tree"); then
                fail "$tree: accepted, but it breaks the rule"
        elif ! grep -qF -- "$why" <<<"$out"; then
                fail "$tree: refused without \"$why\":"$'\n'"$out"
        else
                echo "ok: $tree refused: $why"
        fi
}
expect_refused upward 'basic/log.c:3: basic/ may not include bus/ ("bus/bus.h")'
expect_refused client 'dmwardenctl/ctl.c:2: dmwardenctl/ may not include config/ ("config/config.h")'
expect_refused unnamed 'holders/scan.c:2: "log.h" does not name its layer'
expect_refused stray 'stray/util.c: code outside any layer folder'

exit "$failed"
