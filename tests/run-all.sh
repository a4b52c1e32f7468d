#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test suite (unit, privileged, VM) from a fresh build directory.
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

python3 "$top/tests/summarize-testlog.py" "$build/meson-logs/testlog.json" || status=1
stamp "done in $((SECONDS - start)) s"
exit "$status"
