#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: trixie
# The installed dmwarden.service, watch-only (the installed default), beside
# Debian's own containerd.service running containerd 1.7 with its devmapper
# snapshotter: the set-up of a node that keeps its engine's unit and adds
# dmwarden. Checked as an administrator would:
#  - starting, restarting and stopping dmwarden.service leaves
#    containerd.service running with the same main PID, and restarting
#    containerd.service leaves dmwarden.service running with the same PID;
#  - dmwardend watches containerd's namespace (PID 1's: nothing configured
#    but the pool and the action);
#  - a leak made then (a process in a mount namespace of its own with its
#    cwd in a container's root) is reported by dmwarden.service in the
#    journal, its holder killed (Action=kill in a drop-in), and the device
#    removed; `ctr containers rm` succeeds, and containerd still runs
#    containers afterwards.
# Last in the trixie boot: it leaves containerd.service stopped.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

unit=dmwarden.service
pool=ctrbeside
id=beside
dropin=/etc/dmwarden/dmwarden.conf.d/containerd-beside.conf

unit_pid() { systemctl show -p MainPID --value "$1"; }
manager_number() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | awk '{ print $2 }'
}
# Alerts of dmwarden.service itself, not of an earlier scenario's unit.
unit_alert_seen() {
        [[ -n $(journalctl -b "_SYSTEMD_UNIT=$unit" "MESSAGE_ID=$1" "DM_NAME=$2" -o cat --no-pager) ]]
}
unit_alert_field() {
        journalctl -b "_SYSTEMD_UNIT=$unit" "MESSAGE_ID=$1" "DM_NAME=$2" -o export --no-pager |
                sed -n "s/^$3=//p" | tail -n 1
}
containerd_untouched() {
        assert "containerd.service is active $1" systemctl -q is-active containerd.service
        assert_eq "$(unit_pid containerd.service)" "$containerd_pid" "containerd.service's MainPID $1"
}
ctr_has_snapshot() { ctr_do snapshots --snapshotter devmapper ls | awk -v k="$1" '$1 == k { f = 1 } END { exit !f }'; }

command -v dmwardend >/dev/null || fail "dmwardend is not installed (run with --build-dir)"
assert "the unit is installed where systemd looks" systemctl cat "$unit"
refute "installing enabled nothing" systemctl -q is-enabled "$unit"
assert_eq "$(dmwardend --dump-config | sed -n 's/^ExecStart=//p' | head -n 1)" "" \
        "the installed configuration's ExecStart= (watch-only)"

# --- containerd.service as Debian ships it, on a pool of its own -------------

thin_pool_create_empty "$pool"
systemctl stop containerd.service
wait_for 120 "containerd to exit" _no_process containerd
rm -rf /var/lib/containerd /run/containerd
containerd_configure "$pool"
t0=$SECONDS
systemctl start containerd.service
defer "systemctl stop containerd.service 2>/dev/null || true"
wait_for 120 "ctr version to answer" ctr_do version
timing containerd-service-start "$((SECONDS - t0))"
containerd_pid=$(unit_pid containerd.service)
log "containerd.service: $(ctr_do version | sed -n 's/^ *Version: *//p' | tail -n 1), PID $containerd_pid"

mkdir -p "${dropin%/*}"
printf '[Watch]\nPool=%s\n[Policy]\nAction=kill\nGraceSec=5s\n' "$pool" >"$dropin"
defer "rm -f $dropin"

# --- dmwarden.service comes and goes; containerd stays -----------------------

t0=$SECONDS
systemctl start "$unit"
defer "systemctl stop $unit 2>/dev/null || true; journalctl -b -u $unit --no-pager >$DMWARDEN_VM_ARTIFACTS/dmwardend.log"
timing watch-only-start "$((SECONDS - t0))"
assert "$unit is active in watch-only mode" systemctl -q is-active "$unit"
containerd_untouched "after systemctl start $unit"
assert_eq "$(manager_number EngineNamespace)" "$(mntns_of "$containerd_pid")" \
        "the engine namespace dmwardend watches is containerd's"

pid=$(unit_pid "$unit")
t0=$SECONDS
systemctl restart "$unit"
timing watch-only-restart "$((SECONDS - t0))"
assert "$unit is active after restart" systemctl -q is-active "$unit"
refute "restart gave a new dmwardend" test "$(unit_pid "$unit")" = "$pid"
containerd_untouched "after systemctl restart $unit"

pid=$(unit_pid "$unit")
t0=$SECONDS
systemctl restart containerd.service
wait_for 120 "ctr version to answer after containerd's restart" ctr_do version
timing containerd-restart "$((SECONDS - t0))"
assert "$unit is active after containerd.service's restart" systemctl -q is-active "$unit"
assert_eq "$(unit_pid "$unit")" "$pid" "dmwardend's PID after containerd.service's restart"
containerd_pid=$(unit_pid containerd.service)

# --- a leak, made and freed beside containerd.service ------------------------

t0=$SECONDS
ctr_run_container "$id"
timing ctr-run "$((SECONDS - t0))"
dev=$(ctr_snapshot_device "$id")
[[ $dev == "$pool"-snap-* ]] || fail "no devmapper snapshot device for $id (got '$dev')"
rootfs=$(ctr_rootfs "$id")
log "container $id: snapshot device $dev ($(dm_majmin "$dev")), root $rootfs"
wait_for 60 "$dev active on the bus" dmwarden_device_state_is "$dev" active
spawn_cwd_holder "$rootfs"
holder=$HOLDER_PID

assert "ctr tasks kill -s SIGKILL $id" ctr_do tasks kill -s SIGKILL "$id"
wait_for 120 "task $id to stop" ctr_task_status_is "$id" STOPPED
assert "ctr tasks rm $id" ctr_do tasks rm "$id"
rm_usec=$(now_usec)
assert "ctr containers rm $id" ctr_do containers rm "$id"

wait_for 120 "$unit to report the leak of $dev" unit_alert_seen "$ALERT_LEAK_DETECTED" "$dev"
log "leak alert $(ms_between "$rm_usec" "$(alert_usec "$ALERT_LEAK_DETECTED" "$dev")") ms after ctr tasks rm," \
    "LET_GO=$(unit_alert_field "$ALERT_LEAK_DETECTED" "$dev" LET_GO)"
assert_eq "$(unit_alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID)" "$holder" "HOLDER_PID of the alert"
wait_for 120 "$unit to reap the holder" unit_alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert_eq "$(unit_alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" kill "ACTION of the reap"
wait_for 30 "holder $holder to exit" _gone "$holder"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "$unit to tell $dev is removed" unit_alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
log "removed $(ms_between "$rm_usec" "$(alert_usec "$ALERT_DEVICE_REMOVED" "$dev")") ms after ctr tasks rm:" \
    "$(unit_alert_field "$ALERT_DEVICE_REMOVED" "$dev" RESULT)"
assert_eq "$(alert_count "$ALERT_REMOVAL_FAILED" "$dev")" 0 "removal-failed alerts for $dev"
wait_for 60 "ctr to list no snapshot $id" eval "! ctr_has_snapshot $id"

assert "$unit is still active" systemctl -q is-active "$unit"
containerd_untouched "after the leak"
out=$(ctr_do run --rm --snapshotter devmapper "$CTR_IMAGE" after-leak echo ok) || fail "ctr run --rm after the leak"
assert_eq "$out" ok "ctr run --rm ... echo ok after the leak"

t0=$SECONDS
systemctl stop "$unit"
timing watch-only-stop "$((SECONDS - t0))"
containerd_untouched "after systemctl stop $unit"
