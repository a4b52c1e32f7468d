#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: build dmwarden, boot the test VM, show the leak dmwarden
# exists to catch (the baseline scenario, without dmwarden), then the same
# leak with Docker under dmwarden: on the bus, in the journal, reaped, gone.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/setup-host.sh"
[ -d "$top/build" ] || meson setup "$top/build" "$top" >/dev/null
ninja -C "$top/build"
artifacts=$(mktemp -d /tmp/dmwarden-demo.XXXXXX)
status=0
"$top/tests/vm/run" --build-dir "$top/build" --keep-artifacts "$artifacts" \
        "$top/tests/vm/scenarios/baseline-leak.sh" "$top/tests/vm/scenarios/demo-leak.sh" </dev/null || status=$?
# Results are kept a directory per image booted (tests/vm/README.md).
for s in baseline-leak demo-leak; do
        echo "--- what $s saw (full results in $artifacts) ---"
        out=$(compgen -G "$artifacts/*/scenarios/$s/output.log" | head -n 1) || true
        cat "$out" 2>/dev/null || echo "(no output: see $artifacts)"
done
exit "$status"
