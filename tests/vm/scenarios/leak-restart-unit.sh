#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A holder that runs as a transient systemd unit, under
# Action=restart-unit: systemd restarts the unit and the device is removed.
# The same with the unit in ProtectUnits=: refused, logged, left alone.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

# spawn_unit_holder UNIT DIR: a transient service whose process keeps its
# cwd in DIR, from a namespace made from the engine's. Prints its PID.
spawn_unit_holder() {
        # shellcheck disable=SC2016 # $1 is for the inner shell
        systemd-run --unit "$1" -p Restart=no nsenter --mount=/run/dmwarden/engine.mnt \
                unshare --mount --propagation private sh -c 'cd "$1" && exec sleep 86400' holder "$2" >/dev/null
        defer "systemctl stop $1 2>/dev/null || true"
        wait_for 60 "$1 to hold $2" _unit_cwd_is "$1" "$2"
}
_unit_cwd_is() {
        local pid
        pid=$(systemctl show -p MainPID --value "$1")
        [[ $pid != 0 ]] && _cwd_is "$pid" "$2"
}
invocation() { systemctl show -p InvocationID --value "$1"; }

dmwarden_start_engine '[Policy]' 'Action=restart-unit' 'ProtectUnits=leak-protected.service'

docker_run_container byunit
dev=$(container_thin_device byunit)
spawn_unit_holder leak-holder.service "$(container_mount_point byunit)/rootfs"
before=$(invocation leak-holder.service)
assert "docker rm -f reports success" docker rm -f byunit
wait_for 120 "the leak alert for $dev" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_UNIT)" leak-holder.service "HOLDER_UNIT"
wait_for 120 "the unit to be restarted" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" restart-unit "ACTION of the reap"
refute "leak-holder.service is a new invocation" test "$(invocation leak-holder.service)" = "$before"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"

docker_run_container protected
dev=$(container_thin_device protected)
spawn_unit_holder leak-protected.service "$(container_mount_point protected)/rootfs"
pid=$(systemctl show -p MainPID --value leak-protected.service)
before=$(invocation leak-protected.service)
assert "docker rm -f reports success" docker rm -f protected
wait_for 120 "the refusal for $dev" alert_seen "$ALERT_REAP_FAILED" "$dev"
result=$(alert_field "$ALERT_REAP_FAILED" "$dev" RESULT)
log "refusal: $result"
assert "the refusal names ProtectUnits" grep -q "leak-protected.service" <<<"$result"
assert_eq "$(invocation leak-protected.service)" "$before" "the protected unit's invocation"
assert "the protected holder still runs" alive "$pid"
assert "the device is kept" dm_exists "$dev"
systemctl stop leak-protected.service
wait_for 120 "$dev to be removed once its holder stopped" dm_gone "$dev"
