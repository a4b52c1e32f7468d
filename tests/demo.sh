#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, for now: build dmwarden, boot the test VM, and show the leak
# dmwarden exists to catch (the baseline scenario, without dmwarden).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/setup-host.sh"
[ -d "$top/build" ] || meson setup "$top/build" "$top" >/dev/null
ninja -C "$top/build"
artifacts=$(mktemp -d /tmp/dmwarden-demo.XXXXXX)
status=0
"$top/tests/vm/run" --build-dir "$top/build" --keep-artifacts "$artifacts" \
        "$top/tests/vm/scenarios/baseline-leak.sh" </dev/null || status=$?
echo "--- what the scenario saw (full results in $artifacts) ---"
cat "$artifacts"/scenarios/baseline-leak/output.log 2>/dev/null || find "$artifacts" -name output.log -exec cat {} +
exit "$status"
