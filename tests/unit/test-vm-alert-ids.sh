#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The VM scenarios look alerts up by MESSAGE_ID with the values in
# tests/vm/lib.sh; they must be the daemon's (daemon/reap/alert-ids.h).
set -euo pipefail
top=${DMWARDEN_SOURCE_ROOT:?}
daemon=$(grep -o 'ALERT_ID_[A-Z_]* *"[0-9a-f]*"' "$top/daemon/reap/alert-ids.h" | sed 's/ALERT_ID_//; s/ *"/=/; s/"//' | sort)
vm=$(grep -o '^ALERT_[A-Z_]*=[0-9a-f]*' "$top/tests/vm/lib.sh" | sed 's/^ALERT_//' | sort)
[[ -n $daemon ]] || { echo "no ids found in daemon/reap/alert-ids.h" >&2; exit 1; }
if [[ $daemon != "$vm" ]]; then
        echo "tests/vm/lib.sh and daemon/reap/alert-ids.h disagree:" >&2
        diff <(echo "$daemon") <(echo "$vm") >&2 || true
        exit 1
fi
echo "$(wc -l <<<"$daemon") alert ids agree"
