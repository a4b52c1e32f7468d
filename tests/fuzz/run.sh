#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the fuzz targets with clang (libFuzzer, ASan, UBSan) in a build
# directory of their own and runs each for SECONDS (default
# $DMWARDEN_FUZZ_SECONDS, else 60), two at a time, as meson's suite "fuzz".
# Fails on any crash, leak or broken property. Without clang it exits 77
# (skip), or fails when DMWARDEN_REQUIRE_ALL=1.
#
#   tests/fuzz/run.sh [SECONDS]
#   DMWARDEN_FUZZ_BUILD_DIR=... (default: build-fuzz in the source tree)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DMWARDEN_FUZZ_BUILD_DIR:-$top/build-fuzz}
export DMWARDEN_FUZZ_SECONDS=${1:-${DMWARDEN_FUZZ_SECONDS:-60}}

if ! command -v clang >/dev/null; then
        echo "fuzz: clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2
        [ "${DMWARDEN_REQUIRE_ALL:-0}" = 1 ] && exit 1
        exit 77
fi

# A stale log must not stand in for a run that did not happen.
rm -f "$build/meson-logs/testlog.json"
if [ -f "$build/build.ninja" ]; then
        meson setup --reconfigure "$build" "$top" >/dev/null
else
        # b_lundef=false: clang's sanitizer runtimes are linked into executables only.
        CC=clang meson setup "$build" "$top" -Dwerror=true -Dfuzz=enabled -Dtests=disabled \
                -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build"
meson test -C "$build" --suite fuzz --print-errorlogs --num-processes 2
