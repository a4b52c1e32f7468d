#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Faults: dmwardend killed with SIGKILL at random points of 50 leak cycles
# and restarted by systemd, which adopts the engine its predecessor left
# running in its scope (the same engine, namespace and mounts throughout),
# then the engine killed while a leak is in flight and restarted by
# dmwardend with back-off. Every leak is still found and handled, the
# devices the current engine has mounted are never removed, and no stale
# namespace pin, mount or helper process stays.
#
# The random choices (which cycles get a kill, where in the cycle, the
# random delays) come from a seed printed at the start. To replay a run,
# run a copy of this file with its seed line made FAULT_KILL_SEED=<seed>.
# Timing inside the guest still varies from run to run.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

: "${FAULT_KILL_SEED:=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}"
RANDOM=$FAULT_KILL_SEED
# Alerts are counted from here on: scenarios before this one in the same
# boot have alerts of their own (a refused protected unit, say).
since=$(date +%s)
log "seed $FAULT_KILL_SEED (to replay: FAULT_KILL_SEED=$FAULT_KILL_SEED in a copy of this scenario)"

cycles=50
kept=(keep-1 keep-2 keep-3)     # mounted by the engine all along
unit=dmwarden-vm.service
scope=dmwarden-vm-engine.scope
pin=/run/dmwarden/engine.mnt
t_start=$SECONDS

# --- helpers ----------------------------------------------------------------
# Under TCG every fork costs tens of milliseconds of the two CPUs dmwardend
# needs too, so what the loops poll is read with shell builtins from /proc
# and /sys where it can be.

# wait_fast LIMIT WHAT CMD...: poll CMD every 0.1 s for a second, then every
# 0.25 s (wait_for's back-off to 2 s would blur the latencies measured).
wait_fast() {
        local limit=$1 what=$2 start=$SECONDS n=0
        shift 2
        until "$@" >/dev/null 2>&1; do
                ((SECONDS - start < limit)) || fail "timed out after $limit s waiting for: $what"
                n=$((n + 1))
                if ((n < 10)); then sleep 0.1; else sleep 0.25; fi
        done
}

# wait_alert LIMIT NAME: the device's leak alert is in the journal (journalctl
# is too costly to run ten times a second).
wait_alert() {
        local start=$SECONDS
        until alert_seen "$ALERT_LEAK_DETECTED" "$2"; do
                ((SECONDS - start < $1)) || fail "timed out after $1 s waiting for the leak alert for $2"
                sleep 0.3
        done
}

# Whether a process exists and is no zombie.
running() {
        local st
        [[ -r /proc/$1/stat ]] && read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null && [[ $st != Z ]]
}

# dmwardend runs in its unit's cgroup and is not the one we killed last, its
# engine (a `sleep`) runs in the engine scope and is not the one killed last
# either, the pin names the engine's namespace, and the unit is active
# (READY=1 comes after the first scan, and after adopting the engine).
# systemctl, costly under TCG, only once the rest holds. Sets DAEMON_PID and
# ENGINE_PID.
last_killed=0 last_engine=0
daemon_back() {
        local p comm main='' e=''
        while read -r p; do
                read -r comm 2>/dev/null <"/proc/$p/comm" || continue
                [[ $comm == dmwardend ]] && main=$p
        done <"$cgroup/cgroup.procs"
        [[ -n $main && $main != "$last_killed" ]] || return 1
        [[ -e $scope_cgroup/cgroup.procs ]] || return 1
        while read -r p; do
                read -r comm 2>/dev/null <"/proc/$p/comm" || continue
                [[ $comm == sleep ]] && e=$p
        done <"$scope_cgroup/cgroup.procs"
        [[ -n $e && $e != "$last_engine" && $pin -ef /proc/$e/ns/mnt ]] || return 1
        [[ $(systemctl show -p ActiveState --value "$unit") == active ]] || return 1
        DAEMON_PID=$main ENGINE_PID=$e
}

# thin_snapshot, and the device number kept for cheap checks.
declare -A majmin=()
snapshot() {
        thin_snapshot "$1"
        majmin[$1]=$(dm_majmin "$1")
}

# The kernel removed the device (its sysfs entry is gone).
removed() { [[ ! -e /sys/dev/block/${majmin[$1]} ]]; }

# engine_mounts NAME...: mount them in the engine namespace, one nsenter
# (the directories were made at the start: /run is the host's file system).
engine_mounts() {
        local n args=()
        if (($# == 1)); then
                engine_do mount "/dev/mapper/$1" "/run/thin-engine/$1"
                return
        fi
        for n; do args+=("/dev/mapper/$n" "/run/thin-engine/$n"); done
        # shellcheck disable=SC2016 # for the inner shell
        engine_do sh -c 'while [ $# -gt 0 ]; do mount "$1" "$2" || exit; shift 2; done' mounts "${args[@]}"
}

# engine_uses_only NAME...: the engine namespace mounts each of them, and
# nothing else keeps them open (open count 1): an old engine namespace still
# alive, through a stale pin say, would add a reference.
engine_uses_only() {
        local n name open mm
        local -A opens=() mounted=()
        while read -r name open; do opens[$name]=$open; done \
                < <(dmsetup info -c --noheadings -o name,open --separator ' ')
        while read -r _ _ mm _; do mounted[$mm]=1; done <"/proc/$ENGINE_PID/mountinfo"
        for n; do
                [[ ${opens[$n]:-} == 1 && -n ${mounted[${majmin[$n]}]:-} ]] || return 1
        done
}

# What is left of dmwardend's instances: the mounts on the pin (file system
# types), on /run/dmwarden, all nsfs mounts of the host namespace, whether
# the pin names the live engine's namespace, and the processes of the unit
# besides dmwardend and the engine.
stale_state() {
        local main=$DAEMON_PID e=$ENGINE_PID f i pin_types='' run_mounts=0 nsfs=0 others='' p
        while read -r -a f; do
                for ((i = 6; i < ${#f[@]} - 1; i++)); do [[ ${f[i]} == - ]] && break; done
                [[ ${f[4]} == "$pin" ]] && pin_types+="${f[i + 1]} "
                [[ ${f[4]} == /run/dmwarden ]] && run_mounts=$((run_mounts + 1))
                [[ ${f[i + 1]} == nsfs ]] && nsfs=$((nsfs + 1))
        done </proc/self/mountinfo
        while read -r p; do [[ $p == "$main" || $p == "$e" ]] || others+="$p($(cat "/proc/$p/comm" 2>/dev/null)) "; done \
                <"$cgroup/cgroup.procs"
        echo "pin:${pin_types}run-dir-mounts:$run_mounts nsfs-mounts:$nsfs" \
                "pin-is-engine-ns:$([[ $pin -ef /proc/$e/ns/mnt ]] && echo yes || echo no) other-processes:${others:-none}"
}
no_stale_state='pin:nsfs run-dir-mounts:1 nsfs-mounts:1 pin-is-engine-ns:yes other-processes:none'

killed_pids=()
declare -A kills_in_window=()   # device -> kills between its let-go and its removal
kill_log=()

kill_daemon() {
        local where=$1 pid
        pid=$DAEMON_PID
        [[ $(cat "/proc/$pid/comm") == dmwardend ]] || fail "dmwardend $pid is gone ($where)"
        kill -KILL "$pid"
        t_killed=$(now_usec)
        killed_pids+=("$pid")
        last_killed=$pid
        kill_log+=("$where")
        log "kill ${#killed_pids[@]}: SIGKILL to dmwardend $pid $where"
}

# After a kill: wait for systemd's restart and the new dmwardend's adoption
# of the same engine, whose namespace still holds what it mounted, and check
# that nothing of the old instance stayed.
after_kill() {
        local engine=$ENGINE_PID
        wait_fast 120 "dmwardend restarted" daemon_back
        restart_ms+=("$(ms_between "$t_killed" "$(now_usec)")")
        assert_eq "$ENGINE_PID" "$engine" "the engine's PID across the kill of dmwardend ${last_killed}"
        wait_fast 60 "the engine's devices held by the engine namespace only" \
                engine_uses_only "${kept[@]}" ${current_mounted:+"$current_mounted"}
        assert_eq "$(stale_state)" "$no_stale_state" "nothing left of dmwardend ${last_killed}"
}

# --- set-up -----------------------------------------------------------------

thin_pool_create fpool
mkdir -p /run/thin-engine
defer "rm -rf /run/thin-engine"
for n in "${kept[@]}" $(seq -f "fault-%g" 1 "$cycles") crash-{1..2} after-crash-{1..3}; do mkdir "/run/thin-engine/$n"; done
# StartLimitIntervalSec=0: systemd's default start limit (5 in 10 s) is not
# what is tested here, and kills in a row under a fast machine could reach it.
DMWARDEN_UNIT_PROPS=(-p Restart=always -p RestartSec=200ms -p StartLimitIntervalSec=0)
# Debug logging (libdevmapper's every ioctl) costs dmwardend and journald
# more CPU than the cycles themselves under TCG.
DMWARDEN_LOG_LEVEL=info
dmwarden_start_stand_in '[Engine]' 'Restart=on-failure' 'RestartSec=1s' \
        '[Policy]' 'Action=kill' 'GraceSec=5s'
cgroup=/sys/fs/cgroup/system.slice/$unit
scope_cgroup=/sys/fs/cgroup/system.slice/$scope
[[ -e $cgroup/cgroup.procs ]] || fail "no cgroup $cgroup"
wait_fast 60 "dmwardend ready" daemon_back
for n in "${kept[@]}"; do snapshot "$n"; done
engine_mounts "${kept[@]}"
wait_fast 60 "the kept devices held by the engine" engine_uses_only "${kept[@]}"
timing setup "$((SECONDS - t_start))"

# --- part 1: dmwardend killed at random points of the leak cycles ------------

# Where in a cycle the kill lands (0: no kill). Each place gets
# kills_per_phase cycles, at random positions among the $cycles.
phase_names=([1]="between cycles" [2]="after the engine mounted the device"
             [3]="after the holder took it, before let-go" [4]="right after let-go"
             [5]="at a random moment (0-0.9 s) after let-go" [6]="after the leak alert, in the kill grace")
kills_per_phase=3
schedule=()
for p in "${!phase_names[@]}"; do
        for ((k = 0; k < kills_per_phase; k++)); do schedule+=("$p"); done
done
while ((${#schedule[@]} < cycles)); do schedule+=(0); done
for ((k = ${#schedule[@]} - 1; k > 0; k--)); do       # Fisher-Yates
        j=$((RANDOM % (k + 1)))
        p=${schedule[k]} schedule[k]=${schedule[j]} schedule[j]=$p
done
log "kill schedule (cycle: place): $(for k in "${!schedule[@]}"; do ((schedule[k])) && printf '%d:%d ' $((k + 1)) "${schedule[k]}"; done)"
holders=() latencies_nokill=() latencies_kill=() restart_ms=()
t1=$SECONDS
for i in $(seq 1 "$cycles"); do
        name=fault-$i
        phase=${schedule[i - 1]}
        t_cycle=$SECONDS
        current_mounted=
        ((phase != 1)) || { kill_daemon "${phase_names[1]} (cycle $i)"; after_kill; }

        snapshot "$name"
        engine_mounts "$name"
        current_mounted=$name
        ((phase != 2)) || { kill_daemon "${phase_names[2]} (cycle $i)"; after_kill; }

        # A holder that ignores SIGTERM keeps dmwardend in its grace period.
        spawn_engine_cwd_holder "/run/thin-engine/$name" $((phase == 6 ? 1 : 0)) >/dev/null
        holders+=("$HOLDER_PID")
        ((phase != 3)) || { kill_daemon "${phase_names[3]} (cycle $i)"; after_kill; }

        engine_let_go "$name"
        current_mounted=
        t_let_go=$(now_usec)
        kills_in_window[$name]=0
        where=${phase_names[phase]:-}
        case $phase in
        4) kill_daemon "$where (cycle $i)" ;;
        5) sleep "0.$((RANDOM % 10))"
           kill_daemon "$where (cycle $i)" ;;
        6) wait_alert 60 "$name"
           # Under a heavy load the grace may be over already: say so.
           running "$HOLDER_PID" || where="after the leak alert, the holder already killed"
           kill_daemon "$where (cycle $i)" ;;
        esac
        ((phase < 4)) || kills_in_window[$name]=1

        wait_fast 120 "$name removed" removed "$name"
        ms=$(ms_between "$t_let_go" "$(now_usec)")
        if ((phase >= 4)); then latencies_kill+=("$ms"); else latencies_nokill+=("$ms"); fi
        ((phase < 4)) || after_kill
        ! running "$HOLDER_PID" || fail "cycle $i: holder $HOLDER_PID still runs, $name removed"
        log "cycle $i: $name leaked, removed $ms ms after let-go${where:+, kill $where}; $((SECONDS - t_cycle)) s"
done
timing daemon-kill-cycles "$((SECONDS - t1))"
log "part 1: $cycles cycles, ${#killed_pids[@]} kills in $((SECONDS - t1)) s"
printf '%s\n' "${kill_log[@]}" | sed 's/ (cycle [0-9]*)$//' | sort | uniq -c |
        while read -r line; do log "kills $line"; done

# --- part 1, afterwards -----------------------------------------------------

stats() { printf '%s\n' "$@" | sort -n | awk 'NF { v[++n] = $1 } END { if (n) printf "n=%d min=%d median=%d max=%d", n, v[1], v[int((n + 1) / 2)], v[n]; else printf "n=0" }'; }
log "let-go to removal, ms, no kill in the leak: $(stats "${latencies_nokill[@]}")"
log "let-go to removal, ms, a kill in the leak:  $(stats "${latencies_kill[@]}")"
log "kill to dmwardend ready again, ms: $(stats "${restart_ms[@]}")"

for h in "${holders[@]}"; do ! running "$h" || fail "holder $h is still alive"; done
log "ok: all ${#holders[@]} holders ended"
assert_eq "$(dmsetup ls --target thin | awk '{ print $1 }' | sort | tr '\n' ' ')" "${kept[*]} " \
        "thin devices left on the pool"
wait_fast 60 "the kept devices held by the engine only" engine_uses_only "${kept[@]}"
for n in "${kept[@]}"; do
        assert_eq "$(dmwarden_device_property "$n" State)" 's "active"' "$n on the bus"
        assert_eq "$(journalctl -b "DM_NAME=$n" -o verbose --no-pager | grep -c '^ *MESSAGE_ID=' || true)" 0 \
                "alerts about $n"
done
assert_eq "$(stale_state)" "$no_stale_state" "nothing left of the killed instances"

# Leak alerts: "DM_NAME PID" per alert, in journal order.
journalctl -b "MESSAGE_ID=$ALERT_LEAK_DETECTED" -o export --no-pager |
        awk -F= '/^DM_NAME=/ { n = $2 } /^_PID=/ { p = $2 } /^$/ { if (n != "") print n, p; n = p = "" }
                 END { if (n != "") print n, p }' >"$DMWARDEN_VM_ARTIFACTS/leak-alerts.txt"
declare -A alert_pids=()
while read -r name pid; do alert_pids[$name]+="$pid "; done <"$DMWARDEN_VM_ARTIFACTS/leak-alerts.txt"
# Each device: at least one alert; at most one per dmwardend instance; a
# second only if a kill landed while it was leaked, and then the first came
# from an instance that was killed.
twice=0
for i in $(seq 1 "$cycles"); do
        name=fault-$i
        read -r -a pids <<<"${alert_pids[$name]:-}"
        ((${#pids[@]} >= 1)) || fail "$name: no leak alert"
        ((${#pids[@]} <= 1 + ${kills_in_window[$name]})) ||
                fail "$name: ${#pids[@]} leak alerts (from ${pids[*]}), ${kills_in_window[$name]} kills in its leak"
        if ((${#pids[@]} == 2)); then
                twice=$((twice + 1))
                [[ ${pids[0]} != "${pids[1]}" ]] || fail "$name: two alerts from dmwardend ${pids[0]}"
                in_list "${pids[0]}" "${killed_pids[@]}" || fail "$name: first alert from ${pids[0]}, which was not killed"
        fi
done
log "ok: every device had its leak alert, $twice of them twice (found again after a kill)"
for id in REAP_FAILED REMOVAL_FAILED LEAK_STUCK; do
        var=ALERT_$id
        assert_eq "$(journalctl -b --since "@$since" "MESSAGE_ID=${!var}" -o cat --no-pager | grep -c . || true)" 0 \
                "$id alerts since the scenario began"
done

# --- part 2: the engine killed while a leak is in flight ---------------------

bus_manager() { busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1"; }
busctl --json=short monitor --match \
        "type='signal',sender='org.dmwarden1',path='/org/dmwarden1',member='PropertiesChanged'" \
        >"$DMWARDEN_VM_ARTIFACTS/manager-signals.json" 2>/dev/null &
monitor=$!
defer "kill $monitor 2>/dev/null || true"

t2=$SECONDS
daemon=$DAEMON_PID
for c in 1 2; do
        name=crash-$c
        snapshot "$name"
        engine_mounts "$name"
        # The holder ignores SIGTERM, so the leak lasts through the grace.
        spawn_engine_cwd_holder "/run/thin-engine/$name" 1 >/dev/null
        h=$HOLDER_PID
        engine_let_go "$name"
        t_let_go=$(now_usec)
        old_engine=$ENGINE_PID
        last_engine=$old_engine
        # The first crash as soon as the engine let go, the second in
        # dmwardend's kill grace.
        ((c == 1)) || wait_alert 60 "$name"
        kill -KILL "$old_engine"
        t_crash=$(now_usec)
        assert "$name still leaked when the engine died" dm_exists "$name"
        log "SIGKILL to the engine $old_engine with $name leaked$( ((c == 1)) || echo ', in the kill grace')"
        wait_fast 60 "the engine restarted" daemon_back
        log "engine restarted $(ms_between "$t_crash" "$(now_usec)") ms after its crash"
        new_engine=$ENGINE_PID
        assert_eq "$(bus_manager EnginePID)" "u $new_engine" "EnginePID on the bus"
        assert_eq "$(bus_manager EngineState)" 's "running"' "EngineState on the bus"
        assert_eq "$DAEMON_PID" "$daemon" "dmwardend that lived through the engine's crash"
        engine_mounts "${kept[@]}"
        wait_fast 60 "the kept devices held by the new engine namespace only" engine_uses_only "${kept[@]}"
        assert_eq "$(stale_state)" "$no_stale_state" "nothing left of engine $old_engine"
        wait_fast 120 "$name removed" removed "$name"
        log "$name: let-go to removal $(ms_between "$t_let_go" "$(now_usec)") ms across the engine restart"
        ! running "$h" || fail "$name removed, its holder $h still runs"
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$name")" 1 "leak alerts for $name"
done
assert "the journal has the engine's crash" dmwarden_journal_says "by signal KILL."
assert "the journal has the first restart" dmwarden_journal_says "Restarting the engine in 1s (failure 1 in a row)."
assert "the journal has the second, backed off" dmwarden_journal_says "Restarting the engine in 2s (failure 2 in a row)."
kill "$monitor"
states=$(grep -o '"EngineState":{"type":"s","data":"[a-z]*"}' "$DMWARDEN_VM_ARTIFACTS/manager-signals.json" |
         sed 's/.*"data":"\([a-z]*\)"}/\1/' | uniq | tr '\n' ' ')
assert_eq "$states" "starting running starting running " "EngineState changes on the bus"

# dmwarden keeps watching: the next leaks are found and handled as before.
for c in 1 2 3; do
        name=after-crash-$c
        snapshot "$name"
        engine_mounts "$name"
        spawn_engine_cwd_holder "/run/thin-engine/$name" >/dev/null
        h=$HOLDER_PID
        engine_let_go "$name"
        t_let_go=$(now_usec)
        wait_fast 120 "$name removed" removed "$name"
        log "$name: let-go to removal $(ms_between "$t_let_go" "$(now_usec)") ms"
        ! running "$h" || fail "$name removed, its holder $h still runs"
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$name")" 1 "leak alerts for $name"
done
wait_fast 60 "the kept devices held by the engine only" engine_uses_only "${kept[@]}"
for n in "${kept[@]}"; do
        assert_eq "$(dmwarden_device_property "$n" State)" 's "active"' "$n on the bus"
done
assert_eq "$(dmsetup ls --target thin | awk '{ print $1 }' | sort | tr '\n' ' ')" "${kept[*]} " \
        "thin devices left on the pool"
timing engine-crash "$((SECONDS - t2))"
timing total "$((SECONDS - t_start))"
log "done: ${#killed_pids[@]} dmwardend kills in $cycles cycles, 2 engine crashes, $((SECONDS - t_start)) s"
