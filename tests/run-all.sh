#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test suite (unit, privileged, VM; unit and privileged again
# under ASan and UBSan; the fuzz targets with clang) from fresh build
# directories.
# A suite that cannot run is a failure here, not a skip.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${DMWARDEN_BUILD_DIR:-$top/build}
export DMWARDEN_REQUIRE_ALL=${DMWARDEN_REQUIRE_ALL:-1}

stamp() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

start=$SECONDS
stamp "installing host packages"
"$top/tests/setup-host.sh"

stamp "configuring $build"
rm -rf "$build"
# -Dwerror=true: a warning fails CI, not a user's build with a newer compiler
# (meson.build leaves werror off by default).
meson setup "$build" "$top" -Dwerror=true -Dtests=enabled -Dvm-tests=enabled >/dev/null
stamp "building"
ninja -C "$build"

status=0
# The VM images (Debian 12 and 13), so that cold builds count against no
# test's timeout. A failure here shows again as the vm test's.
vm_cache=$(meson introspect --buildoptions "$build" |
        python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "vm-cache-dir"))')
for image in bookworm trixie; do
        stamp "building or checking the $image VM image in $vm_cache"
        "$top/tests/vm/run" --cache-dir "$vm_cache" --image "$image" --image-only >/dev/null || status=$?
done

stamp "testing"
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?

# The unit and privileged suites again under AddressSanitizer and UBSan
# (see tests/meson.build for the options that make every finding fail).
asan_build=${DMWARDEN_ASAN_BUILD_DIR:-$top/build-asan}
stamp "configuring $asan_build (ASan, UBSan)"
rm -rf "$asan_build"
meson setup "$asan_build" "$top" -Dwerror=true -Dtests=enabled -Dvm-tests=disabled \
        -Db_sanitize=address,undefined >/dev/null
ninja -C "$asan_build"
stamp "testing under ASan and UBSan"
meson test -C "$asan_build" --suite unit --suite privileged --print-errorlogs --num-processes 2 || status=$?

# The fuzz targets need clang, so a build directory of their own.
fuzz_build=${DMWARDEN_FUZZ_BUILD_DIR:-$top/build-fuzz}
# 40 s a target here (tests/fuzz/run.sh alone: 60 s), so the whole run
# stays under 45 minutes on the 2-core machine with both VM boots.
fuzz_seconds=${DMWARDEN_FUZZ_SECONDS:-40}
stamp "fuzzing in $fuzz_build, $fuzz_seconds s a target"
rm -rf "$fuzz_build"
DMWARDEN_FUZZ_SECONDS=$fuzz_seconds DMWARDEN_FUZZ_BUILD_DIR=$fuzz_build "$top/tests/fuzz/run.sh" || status=$?

python3 "$top/tests/summarize-testlog.py" "$build/meson-logs/testlog.json" \
        "$asan_build/meson-logs/testlog.json" "$fuzz_build/meson-logs/testlog.json" || status=1
stamp "done in $((SECONDS - start)) s"
exit "$status"
