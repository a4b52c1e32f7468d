#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test suite (unit, privileged, VM, and the fuzz targets with
# clang) from fresh build directories.
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
meson setup "$build" "$top" -Dtests=enabled -Dvm-tests=enabled >/dev/null
stamp "building"
ninja -C "$build"

stamp "testing"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?

# The fuzz targets need clang, so a build directory of their own.
fuzz_build=${DMWARDEN_FUZZ_BUILD_DIR:-$top/build-fuzz}
stamp "fuzzing in $fuzz_build, ${DMWARDEN_FUZZ_SECONDS:-60} s a target"
rm -rf "$fuzz_build"
DMWARDEN_FUZZ_BUILD_DIR=$fuzz_build "$top/tests/fuzz/run.sh" || status=$?

python3 "$top/tests/summarize-testlog.py" "$build/meson-logs/testlog.json" \
        "$fuzz_build/meson-logs/testlog.json" || status=1
stamp "done in $((SECONDS - start)) s"
exit "$status"
