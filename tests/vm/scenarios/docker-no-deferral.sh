#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real Docker with deferral off (dm.use_deferred_removal=false,
# dm.use_deferred_deletion=false) under dmwardend. Its devicemapper driver
# then removes a container's device with a plain DM_DEV_REMOVE, retried
# 200 times 100 ms apart, and `docker rm` fails with "Device is Busy" once
# they are spent; the kernel keeps no trace of the let-go, so dmwarden has
# only the settle rule (SettleSec=, 5 s) to go by.
#
# 1. Action=kill, DOCKER_LEAK_CYCLES times: a monitoring container with
#    /var/lib/docker bind-mounted (rbind, as `-v` does) has its cwd in
#    container B's root as seen through that bind. `docker rm -f B` exits
#    0; the journal has B's leak alert with LET_GO=settled; the monitoring
#    container's process is reaped; B's device is gone from `dmsetup ls`
#    and its removal alert says the engine removed it. Figures per cycle:
#    artifacts/docker-no-deferral.tsv, median and p95 in
#    docker-no-deferral.txt.
# 2. DOCKER_QUIET_CYCLES cycles of docker create/start/stop/rm with no
#    holder: not one leak alert, not one device removed by dmwarden.
# 3. Action=detach: a holder with only a bind mount of B's root (no cwd,
#    no open file) in a mount namespace of its own. `docker rm -f B`
#    exits 0, the holder's mount is detached, it lives on, the device is
#    removed by the engine.
#
# The defaults fit CI; the measured run in docs/benchmarks.md is
#     tests/vm/run --build-dir build --env DOCKER_LEAK_CYCLES=20 \
#             --env DOCKER_QUIET_CYCLES=50 tests/vm/scenarios/docker-no-deferral.sh
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

leak_cycles=${DOCKER_LEAK_CYCLES:-2}
quiet_cycles=${DOCKER_QUIET_CYCLES:-3}
tsv=$DMWARDEN_VM_ARTIFACTS/docker-no-deferral.tsv
# shellcheck disable=SC2034 # read by dmwarden_start_engine
DOCKER_STORAGE_OPTS=(dm.use_deferred_removal=false dm.use_deferred_deletion=false)

# The cwd of PID is on the device MAJOR:MINOR (whatever path it has in
# its own namespace).
cwd_on_device() { [[ $(stat -L -c '%Hd:%Ld' "/proc/$1/cwd" 2>/dev/null) == "$2" ]]; }

# `dmsetup ls` lists the device NAME.
dmsetup_lists() { dmsetup ls | awk '{ print $1 }' | grep -qxF -- "$1"; }

# poll SECONDS CMD...: whether CMD succeeds within SECONDS (no failure:
# the caller records what happened).
poll() {
        local end=$((SECONDS + $1))
        shift
        until "$@"; do
                ((SECONDS < end)) || return 1
                sleep 0.5
        done
}

scenario_since=$(date +%s)

# The newest `docker rm` output, for the log of a failed cycle.
rm_output=$DMWARDEN_VM_ARTIFACTS/docker-rm-output.txt

# --- 1. leaks under Action=kill ----------------------------------------------

# One leak: a monitoring container keeps its cwd in B's root while
# `docker rm -f B` runs.
leak_cycle() {
        local i=$1 b=nodefer-b$1 mon=nodefer-mon$1 dev mnt majmin inner mon_pid t0 t_reaped t_done ok=1 result=
        local mon_ended=0 listed=1
        docker_run_container "$b"
        dev=$(container_thin_device "$b")
        mnt=$(container_mount_point "$b")
        majmin=$(dm_majmin "$dev")
        [[ -n $mnt ]] || fail "no mount of $dev in dockerd's namespace"
        wait_for 60 "$dev active on the bus" dmwarden_device_state_is "$dev" active
        inner=/host-docker${mnt#/var/lib/docker}/rootfs
        # shellcheck disable=SC2016 # $1 is for the container's shell
        docker run -d --name "$mon" --network none -v /var/lib/docker:/host-docker "$VM_BUSYBOX_IMAGE" \
                sh -c 'cd "$1" && exec sleep 86400' monitor "$inner" >/dev/null
        defer "docker rm -f $mon >/dev/null 2>&1 || true"
        wait_for 120 "$mon to run" container_running "$mon"
        mon_pid=$(docker inspect -f '{{.State.Pid}}' "$mon")
        wait_for 60 "$mon's process $mon_pid to have its cwd in $b's root" cwd_on_device "$mon_pid" "$majmin"
        log "cycle $i: $b on $dev ($majmin), mounted on $mnt; $mon (pid $mon_pid, mnt ns $(mntns_of "$mon_pid")) in $inner"
        assert "$mon's namespace has $b's root through its bind" mounts_device "$mon_pid" "$majmin"

        t0=$(now_usec)
        docker rm -f "$b" >"$rm_output" 2>&1 || ok=0
        t_done=$(now_usec)
        log "cycle $i: docker rm -f $b $( ((ok)) && echo succeeded || echo "failed: $(tr '\n' ' ' <"$rm_output")") after $(ms_between "$t0" "$t_done") ms"
        wait_for 60 "$dev's leak alert" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
        wait_for 60 "$dev's holder reaped" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
        t_reaped=$(alert_usec "$ALERT_HOLDER_REAPED" "$dev")
        # Recorded, not failed at once: the table shows every cycle.
        poll 60 _gone "$mon_pid" && mon_ended=1
        # shellcheck disable=SC2016 # eval expands it
        poll 60 eval '! dmsetup_lists "$dev"' && listed=0
        if poll 60 alert_seen "$ALERT_DEVICE_REMOVED" "$dev"; then
                result=$(alert_field "$ALERT_DEVICE_REMOVED" "$dev" RESULT)
        fi
        printf '%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n' "$i" "$dev" "$ok" \
                "$(ms_between "$t0" "$t_reaped")" "$(ms_between "$t0" "$t_done")" \
                "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" LET_GO)" \
                "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" \
                "$([[ $(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID) == "$mon_pid" ]] && echo 1 || echo 0)" \
                "$mon_ended" "$listed" "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" "${result:-none}" >>"$tsv"
        log "cycle $i: holder reaped $(ms_between "$t0" "$t_reaped") ms after docker rm -f began, which returned after $(ms_between "$t0" "$t_done") ms; $dev: $result"
        docker rm -f "$mon" >/dev/null
}

dmwarden_start_engine '[Policy]' 'Action=kill' 'GraceSec=5s'
docker_import_busybox
printf 'cycle\tdevice\tdocker_rm_ok\tholder_reaped_ms\trm_done_ms\tlet_go\tleak_alerts\tholder_is_monitor\tholder_ended\tin_dmsetup_ls\treap_action\tremoval\n' >"$tsv"
t_leaks=$SECONDS
for ((i = 1; i <= leak_cycles; i++)); do leak_cycle "$i"; done
timing leak-cycles "$((SECONDS - t_leaks))"

# DOCKER_LEAK_CYCLES=0: the quiet cycles alone.
if ((leak_cycles > 0)); then
        {
                n_ok=$(awk -F'\t' 'NR > 1 && $3 == 1' "$tsv" | wc -l)
                read -r hm hp <<<"$(awk -F'\t' 'NR > 1 { print $4 }' "$tsv" | median_p95)"
                read -r dm dp <<<"$(awk -F'\t' 'NR > 1 && $3 == 1 { print $5 }' "$tsv" | median_p95)"
                echo "docker rm -f succeeded in $n_ok of $leak_cycles leak cycles;" \
                        "holder reaped after docker rm -f began: median $hm ms, p95 $hp ms;" \
                        "docker rm -f done: median $dm ms, p95 $dp ms"
        } | tee "$DMWARDEN_VM_ARTIFACTS/docker-no-deferral.txt" | while read -r line; do log "$line"; done

        # Every cycle, each column as a user would check it.
        column() { awk -F'\t' -v c="$1" 'NR > 1 { print $c }' "$tsv" | sort | uniq -c | awk '{ $1 = $1; print }' | paste -sd,; }
        assert_eq "$(column 3)" "$leak_cycles 1" "cycles whose docker rm -f exited 0"
        assert_eq "$(column 6)" "$leak_cycles settled" "cycles whose leak alert says LET_GO=settled"
        assert_eq "$(column 7)" "$leak_cycles 1" "cycles with exactly one leak alert"
        assert_eq "$(column 8)" "$leak_cycles 1" "cycles whose alert names the monitoring container's process"
        assert_eq "$(column 11)" "$leak_cycles kill" "cycles whose holder was reaped by kill"
        assert_eq "$(column 9)" "$leak_cycles 1" "cycles whose monitoring container's process ended"
        assert_eq "$(column 10)" "$leak_cycles 0" "cycles whose device dmsetup ls still lists"
        assert_eq "$(column 12)" "$leak_cycles removed by the engine" "cycles whose device the engine removed"
fi

# --- 2. quiet cycles: no holder ----------------------------------------------

# No holder: create, start, stop, rm; the engine's removals are all there is.
quiet_cycle() {
        local name=nodefer-q$1 dev
        docker create --name "$name" --network none "$VM_BUSYBOX_IMAGE" sleep 86400 >/dev/null
        dev=$(container_thin_device "$name")
        docker start "$name" >/dev/null
        wait_for 120 "$name to run" container_running "$name"
        docker stop -t 1 "$name" >/dev/null
        docker rm "$name" >"$rm_output" 2>&1 || fail "docker rm $name with no holder: $(cat "$rm_output")"
        dm_gone "$dev" || fail "$dev is still there after docker rm $name"
        quiet_devices+=("$dev")
}

quiet_devices=()
quiet_since=$(date +%s)
removed_before=$(dmwarden_manager_property DevicesRemoved)
t_quiet=$SECONDS
for ((i = 1; i <= quiet_cycles; i++)); do quiet_cycle "$i"; done
timing quiet-cycles "$((SECONDS - t_quiet))"
log "$quiet_cycles quiet cycles in $((SECONDS - t_quiet)) s"
# dmwardend has seen the last removal before anything is counted.
last=${quiet_devices[-1]}
# shellcheck disable=SC2016 # eval expands it
wait_for 60 "$last off the bus" eval '! dmwarden_device_path "$last" | grep -q .'
for dev in "${quiet_devices[@]}"; do
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 0 "leak alerts for $dev"
        assert_eq "$(alert_count "$ALERT_DEVICE_REMOVED" "$dev")" 0 "removal alerts for $dev"
done
# Every device, the -init layers and images included.
n_leaks=$(journalctl -b --since "@$quiet_since" "MESSAGE_ID=$ALERT_LEAK_DETECTED" -o cat --no-pager | grep -c . || true)
assert_eq "$n_leaks" 0 "leak alerts during the quiet cycles"
n_removed=$(journalctl -b --since "@$quiet_since" "MESSAGE_ID=$ALERT_DEVICE_REMOVED" -o cat --no-pager | grep -c . || true)
assert_eq "$n_removed" 0 "removal alerts during the quiet cycles"
assert_eq "$(dmwarden_manager_property DevicesRemoved)" "$removed_before" "DevicesRemoved over the quiet cycles"

# --- 3. a bind mount only, under Action=detach -------------------------------

dmwarden_stop
dmwarden_start_engine '[Policy]' 'Action=detach'
docker_run_container nodefer-detach
dev=$(container_thin_device nodefer-detach)
mnt=$(container_mount_point nodefer-detach)
majmin=$(dm_majmin "$dev")
wait_for 60 "$dev active on the bus" dmwarden_device_state_is "$dev" active
spawn_engine_bind_holder "$mnt/rootfs"
holder=$HOLDER_PID
assert "the holder's namespace mounts $dev" mounts_device "$holder" "$majmin"
refute "the holder's cwd is not on $dev" cwd_on_device "$holder" "$majmin"

t0=$(now_usec)
assert "docker rm -f nodefer-detach exits 0" docker rm -f nodefer-detach
log "docker rm -f returned after $(ms_between "$t0" "$(now_usec)") ms"
wait_for 60 "$dev's leak alert" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" LET_GO)" settled "LET_GO of $dev's leak alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID)" "$holder" "HOLDER_PID of $dev's leak alert"
wait_for 60 "$dev's holder reaped" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" detach "ACTION of the reap"
refute "the holder's namespace no longer mounts $dev" mounts_device "$holder" "$majmin"
assert "the holder lives on" alive "$holder"
# shellcheck disable=SC2016 # eval expands it
wait_for 60 "$dev gone from dmsetup ls" eval '! dmsetup_lists "$dev"'
wait_for 60 "$dev's removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
assert_eq "$(alert_field "$ALERT_DEVICE_REMOVED" "$dev" RESULT)" "removed by the engine" "who removed $dev"
assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 1 "leak alerts for $dev"
log "detach: holder detached $(ms_between "$t0" "$(alert_usec "$ALERT_HOLDER_REAPED" "$dev")") ms after docker rm -f began"

n_failed=$(journalctl -b --since "@$scenario_since" "MESSAGE_ID=$ALERT_REMOVAL_FAILED" -o cat --no-pager | grep -c . || true)
assert_eq "$n_failed" 0 "removal-failed alerts"
