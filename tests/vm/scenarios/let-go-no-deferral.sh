#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Engines that remove a device without deferral, as today's engines do:
#  - forced: containerd's devmapper snapshotter (`dmsetup remove --force
#    --retry`, retried), whose first try swaps a busy device's table for
#    error;
#  - plain: Docker with dm.use_deferred_removal=false (a plain removal,
#    retried 200 times), which leaves no trace in the kernel at all.
# On the stand-in engine (a thin pool of our own, the engine's mounts in
# its namespace), under Action=kill, LETGO_CYCLES leaks of each: a holder
# made from the engine namespace keeps its cwd in the device, the engine
# unmounts it and runs its removal. dmwardend must name the leak (LET_GO=
# says how the engine let go), end the holder inside the engine's retry
# window so the engine's own removal succeeds (in all but one cycle at
# most), and remove nothing itself. Then LETGO_QUIET_CYCLES cycles of each
# with no holder: not one leak alert, not one device dmwarden removed.
# Figures: artifacts/let-go.tsv (one line a leak cycle) and let-go.txt.
#
# The defaults fit CI (6 leaks and 12 quiet cycles of each); the measured
# run in docs/benchmarks.md is
#     tests/vm/run --build-dir build --env LETGO_CYCLES=20 \
#             --env LETGO_QUIET_CYCLES=50 tests/vm/scenarios/let-go-no-deferral.sh
set -euo pipefail
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

cycles=${LETGO_CYCLES:-6}
quiet=${LETGO_QUIET_CYCLES:-12}
tsv=$DMWARDEN_VM_ARTIFACTS/let-go.tsv

thin_pool_create lgpool
dmwarden_start_stand_in '[Policy]' 'Action=kill' 'GraceSec=5s'

# One leak: the engine's removal runs while the holder keeps the device.
leak_cycle() {
        local style=$1 name=$2 dir h t0 t_reaped t_done tries ok=1
        thin_snapshot "$name"
        dir=$(engine_mount "$name")
        wait_for 60 "$name active" dmwarden_device_state_is "$name" active
        spawn_engine_cwd_holder "$dir"
        h=$HOLDER_PID
        t0=$(now_usec)
        engine_do umount "$dir"
        tries=$("engine_remove_$style" "$name") || ok=0
        t_done=$(now_usec)
        wait_for 60 "$name's leak alert" alert_seen "$ALERT_LEAK_DETECTED" "$name"
        wait_for 60 "$name's holder reaped" alert_seen "$ALERT_HOLDER_REAPED" "$name"
        t_reaped=$(alert_usec "$ALERT_HOLDER_REAPED" "$name")
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$name")" 1 "leak alerts for $name"
        refute "$name's holder lives" alive "$h"
        if ((ok)); then
                wait_for 60 "$name's removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$name"
                assert_eq "$(alert_field "$ALERT_DEVICE_REMOVED" "$name" RESULT)" "removed by the engine" \
                        "who removed $name"
        fi
        printf '%s\t%s\t%d\t%d\t%s\t%s\t%s\n' "$style" "$name" "$ok" "${tries:-0}" \
                "$(ms_between "$t0" "$t_reaped")" "$(ms_between "$t0" "$t_done")" \
                "$(alert_field "$ALERT_LEAK_DETECTED" "$name" LET_GO)" >>"$tsv"
        if ((ok)); then
                log "$style $name: holder ended $(ms_between "$t0" "$t_reaped") ms after let-go, the engine's removal done after $(ms_between "$t0" "$t_done") ms ($tries tries)"
        else
                log "$style $name: the engine's own removal did not succeed"
                wait_for 60 "$name gone" dm_gone "$name"
        fi
}

# No holder: the engine's removal is all there is.
quiet_cycle() {
        local style=$1 name=$2 dir
        thin_snapshot "$name"
        dir=$(engine_mount "$name")
        wait_for 60 "$name active" dmwarden_device_state_is "$name" active
        engine_do umount "$dir"
        "engine_remove_$style" "$name" >/dev/null || fail "the engine could not remove $name with no holder"
}

# run_cycles KIND COUNT PREFIX: COUNT cycles of KIND (leak, quiet) of each
# style, the devices named PREFIX-STYLE-N.
run_cycles() {
        local kind=$1 count=$2 prefix=$3 style i t0
        for style in forced plain; do
                t0=$SECONDS
                for ((i = 1; i <= count; i++)); do
                        "${kind}_cycle" "$style" "$prefix-$style-$i"
                done
                timing "$kind-cycles-$style" "$((SECONDS - t0))"
        done
}

printf 'style\tdevice\tengine_removal_ok\ttries\tholder_ended_ms\tremoval_done_ms\tlet_go\n' >"$tsv"
run_cycles leak "$cycles" lg
removed_before=$(dmwarden_manager_property DevicesRemoved)
run_cycles quiet "$quiet" quiet
# The last removals are seen before anything is counted.
wait_for 60 "every quiet device off the bus" eval '! busctl tree org.dmwarden1 | grep -q quiet_2d'

# Each style: how the engine let go, how often its own removal succeeded,
# median and p95 of let-go → holder ended → the engine's removal done.
stat_ms() {  # COLUMN STYLE: "median p95" of that column, in ms
        awk -F'\t' -v s="$2" -v c="$1" 'NR > 1 && $1 == s && $3 == 1 { print $c }' "$tsv" | median_p95
}
{
        for style in forced plain; do
                n_ok=$(awk -F'\t' -v s="$style" 'NR > 1 && $1 == s && $3 == 1' "$tsv" | wc -l)
                first=$(awk -F'\t' -v s="$style" 'NR > 1 && $1 == s && $3 == 1 && $4 == 1' "$tsv" | wc -l)
                read -r hm hp <<<"$(stat_ms 5 "$style")"
                read -r dm dp <<<"$(stat_ms 6 "$style")"
                echo "$style: the engine's own removal succeeded in $n_ok of $cycles cycles ($first at its first try);" \
                     "holder ended after let-go: median $hm ms, p95 $hp ms; the engine's removal done: median $dm ms, p95 $dp ms"
        done
        echo "quiet cycles: $quiet of each style, DevicesRemoved $removed_before -> $(dmwarden_manager_property DevicesRemoved)"
} | tee "$DMWARDEN_VM_ARTIFACTS/let-go.txt" | while read -r line; do log "$line"; done

for style in forced plain; do
        n_ok=$(awk -F'\t' -v s="$style" 'NR > 1 && $1 == s && $3 == 1' "$tsv" | wc -l)
        ((n_ok >= cycles - 1)) || fail "$style: the engine's own removal succeeded in only $n_ok of $cycles cycles"
        want=$([[ $style == forced ]] && echo forced-remove || echo settled)
        n_how=$(awk -F'\t' -v s="$style" -v w="$want" 'NR > 1 && $1 == s && $7 == w' "$tsv" | wc -l)
        assert_eq "$n_how" "$cycles" "$style leaks whose LET_GO= is $want"
done
for style in forced plain; do
        for ((i = 1; i <= quiet; i++)); do
                assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "quiet-$style-$i")" 0 "leak alerts for quiet-$style-$i"
        done
done
assert_eq "$(dmwarden_manager_property DevicesRemoved)" "$removed_before" "devices dmwarden removed in the quiet cycles"
n_failed=$(journalctl -b "MESSAGE_ID=$ALERT_REMOVAL_FAILED" -o cat --no-pager | grep -c . || true)
assert_eq "$n_failed" 0 "removal-failed alerts"
