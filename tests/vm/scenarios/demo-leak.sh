#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demonstration (tests/demo.sh): Docker runs under dmwarden, a real
# leak happens, and an operator sees it the way dmwarden shows it: busctl
# and dmwardenctl name the leaked device and its holder, the journal alert
# explains it (journalctl -x, from the catalog), a reap ends the holder,
# and the device is gone. Every step is also an assertion.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

say() { printf '\n=== %s\n' "$*"; }
# Shows a command and its output; its failure is part of the story (a
# device that is gone), the assertions say what must hold.
show() { printf '$ %s\n' "$*"; { "$@" 2>&1 || true; } | sed 's/^/    /'; }

# As `meson install` leaves it to the packaging: compile the journal catalog.
journalctl --update-catalog

say "Docker runs under dmwarden (Action=report: dmwarden tells, the operator decides; such a leak is \"stuck\" until then)"
dmwarden_start_engine '[Policy]' 'Action=report'
show systemctl show -p StatusText --value dmwarden-vm.service
docker_run_container demo
dev=$(container_thin_device demo)
mnt=$(container_mount_point demo)
wait_for 60 "$dev to be active" dmwarden_device_state_is "$dev" active
show dmwardenctl list

say "Someone enters the engine's namespace, unshares, and keeps a shell's cwd in the container"
spawn_engine_cwd_holder "$mnt/rootfs"
holder=$HOLDER_PID

say "docker rm -f: Docker says the container is gone"
show docker rm -f demo
wait_for 120 "dmwarden to report $dev as leaked" dmwarden_device_leaked "$dev"
show dmsetup info "$dev"
show busctl get-property org.dmwarden1 "$(dmwarden_device_path "$dev")" org.dmwarden1.Device State
show busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager ListHolders s "$dev"
show dmwardenctl holders "$dev"
assert "dmwardenctl names the holder" sh -c "dmwardenctl holders '$dev' 2>/dev/null | grep -qw $holder"

say "The journal alert, with its catalog explanation (journalctl -x)"
wait_for 60 "the leak alert" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
show journalctl -b -x --no-pager MESSAGE_ID="$ALERT_LEAK_DETECTED" DM_NAME="$dev"
assert "journalctl -x explains the leak from the catalog" sh -c \
        "journalctl -b -x --no-pager MESSAGE_ID=$ALERT_LEAK_DETECTED DM_NAME='$dev' | grep -qF 'Subject: Leaked thin device'"

say "The operator reaps the holder"
show dmwardenctl reap "$dev" --action=kill
wait_for 120 "$dev to be gone" dm_gone "$dev"
refute "the holder is gone" alive "$holder"
show journalctl -b --no-pager -o cat MESSAGE_ID="$ALERT_HOLDER_REAPED" DM_NAME="$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
show journalctl -b --no-pager -o cat MESSAGE_ID="$ALERT_DEVICE_REMOVED" DM_NAME="$dev"
show dmsetup info "$dev"
show dmwardenctl status
