#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: trixie
# The real containerd 1.7 with its devmapper snapshotter under dmwardend
# with its defaults (SettleSec=5s, Action=detach), and no holder at all:
# CONTAINERD_QUIET_CYCLES containers, each run (`ctr run -d`), stopped
# (`ctr tasks kill`, `ctr tasks rm`) and deleted (`ctr containers rm`).
# udev probes each new device and each one closed after writing from a
# namespace of its own, containerd's shim mounts and unmounts, and its
# removal swaps the table for error first (`dmsetup remove --force`):
# none of it may look like a leak. Checked: not one leak alert, not one
# device removed by dmwarden (DevicesRemoved on the bus), every device
# gone (by containerd's hand: dmwarden tells removals of leaked devices
# only, and counts them in DevicesRemoved). Figures: artifacts/quiet.tsv.
#
# The default fits CI; the measured run in docs/benchmarks.md is
#     tests/vm/run --build-dir build --env CONTAINERD_QUIET_CYCLES=50 \
#             tests/vm/scenarios/containerd-quiet.sh
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

cycles=${CONTAINERD_QUIET_CYCLES:-8}
pool=ctrquiet
tsv=$DMWARDEN_VM_ARTIFACTS/quiet.tsv

command -v dmwardend >/dev/null || fail "dmwardend is not installed (run with --build-dir)"
thin_pool_create_empty "$pool"
# shellcheck disable=SC2119 # the defaults, no extra lines
dmwarden_start_containerd

manager_property() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | awk '{ print $2 }'
}

containerd_import_busybox
since=$(date +%s)
removed_before=$(manager_property DevicesRemoved)
printf 'cycle\tdevice\tcycle_ms\tremoval_tries\n' >"$tsv"
devs=()
t_all=$SECONDS
for ((i = 1; i <= cycles; i++)); do
        id=quiet-$i
        t0=$(now_usec)
        ctr_run_container "$id"
        dev=$(ctr_snapshot_device "$id")
        [[ $dev == "$pool"-snap-* ]] || fail "no devmapper snapshot device for $id (got '$dev')"
        devs+=("$dev")
        wait_for 60 "$dev active on the bus" dmwarden_device_state_is "$dev" active
        ctr_do tasks kill -s SIGKILL "$id" || fail "ctr tasks kill $id"
        wait_for 120 "task $id to stop" ctr_task_status_is "$id" STOPPED
        ctr_do tasks rm "$id" >/dev/null || fail "ctr tasks rm $id"
        ctr_do containers rm "$id" || fail "ctr containers rm $id"
        wait_for 120 "$dev to be removed" dm_gone "$dev"
        printf '%d\t%s\t%d\t%d\n' "$i" "$dev" "$(ms_between "$t0" "$(now_usec)")" "$(ctr_removal_tries "$dev")" >>"$tsv"
        log "cycle $i: $dev run, stopped, deleted and gone after $(ms_between "$t0" "$(now_usec)") ms"
done
timing quiet-cycles "$((SECONDS - t_all))"
# The last removals are seen before anything is counted.
wait_for 60 "the last device off the bus" eval "! dmwarden_device_path ${devs[-1]} | grep -q ."

for dev in "${devs[@]}"; do
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 0 "leak alerts for $dev"
        # Removal alerts are for devices that leaked: none here.
        assert_eq "$(alert_count "$ALERT_DEVICE_REMOVED" "$dev")" 0 "removal alerts for $dev"
done
assert_eq "$(manager_property DevicesRemoved)" "$removed_before" "devices dmwarden removed in $cycles cycles"
# Alerts of any device since the cycles began (a boot runs several scenarios).
n_leaks=$(journalctl --since "@$since" "MESSAGE_ID=$ALERT_LEAK_DETECTED" -o cat --no-pager | grep -c . || true)
assert_eq "$n_leaks" 0 "leak alerts of any device"
n_failed=$(journalctl --since "@$since" "MESSAGE_ID=$ALERT_REMOVAL_FAILED" -o cat --no-pager | grep -c . || true)
assert_eq "$n_failed" 0 "removal-failed alerts"
{
        echo "$cycles quiet cycles in $((SECONDS - t_all)) s:" \
             "median cycle $(awk -F'\t' 'NR > 1 { print $3 }' "$tsv" | sort -n |
                     awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') ms;" \
             "containerd's removal at its first try in $(awk -F'\t' 'NR > 1 && $4 == 1' "$tsv" | wc -l) of $cycles;" \
             "DevicesRemoved $removed_before -> $(manager_property DevicesRemoved)"
} | tee "$DMWARDEN_VM_ARTIFACTS/quiet.txt" | while read -r line; do log "$line"; done
