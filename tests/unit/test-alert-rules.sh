#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped Prometheus alerting rules: valid (promtool check rules), and
# firing when they should and only then (promtool test rules on
# tests/data/dmwarden-alerts-test.yml). Skipped without promtool (Debian:
# prometheus, which tests/setup-host.sh installs).
set -euo pipefail
top=${DMWARDEN_SOURCE_ROOT:?}
if ! command -v promtool >/dev/null; then
        echo "promtool is not installed; skipping" >&2
        exit 77
fi
promtool check rules "$top/conf/dmwarden-alerts.yml"
promtool test rules "$top/tests/data/dmwarden-alerts-test.yml"
