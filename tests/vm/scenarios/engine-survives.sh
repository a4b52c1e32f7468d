#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The engine survives dmwardend. dmwardend runs dockerd in a scope of its
# own (dmwarden-vm-engine.scope); with two containers running:
#
# 1. dmwardend is SIGKILLed ENGINE_SURVIVES_KILLS times (default 3; 20 for
#    the full proof) and systemd restarts it each time;
# 2. dmwardend is SIGSTOPped past its watchdog (WatchdogSec=10s): systemd
#    aborts and kills it, and restarts it;
# 3. dmwardend re-executes itself on SIGUSR2 (the upgrade path);
#
# and after each: dockerd's PID, each container's PID and start time are
# unchanged, docker answers, and the new dmwardend says on the bus that it
# adopted that dockerd. Then `systemctl stop` still stops dockerd, the
# containers and the scope, and leaves no pin behind.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

: "${ENGINE_SURVIVES_KILLS:=3}"
unit=dmwarden-vm.service
scope=dmwarden-vm-engine.scope
pin=/run/dmwarden/engine.mnt
t_start=$SECONDS

bus_manager() { busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1"; }
main_pid() { systemctl show -p MainPID --value "$unit"; }
unit_active() { [[ $(systemctl show -p ActiveState --value "$unit") == active ]]; }
# The containers' PIDs and start times, one line.
containers_state() { docker inspect -f '{{.Name}} {{.State.Pid}} {{.State.StartedAt}}' survive-1 survive-2 | tr '\n' ' '; }
adoptions() { journalctl -b -u "$unit" -o cat --no-pager | grep -cF "Adopted the engine (PID $dpid," || true; }

# back_after WHAT OLD_MAIN: a dmwardend other than OLD_MAIN (or the same
# one, for a re-exec) is active and has adopted dockerd once more.
_adopted_again() {
        unit_active && [[ $(main_pid) != 0 ]] && (($(adoptions) > adopted)) &&
                [[ $(bus_manager EnginePID 2>/dev/null) == "u $dpid" ]]
}
check_after() {
        local what=$1 t0=$SECONDS
        wait_for 300 "dmwardend to adopt dockerd $dpid again after $what" _adopted_again
        adopted=$(adoptions)
        assert_eq "$(dockerd_pid)" "$dpid" "dockerd's PID after $what"
        assert_eq "$(containers_state)" "$containers" "containers' PIDs and start times after $what"
        assert_eq "$(bus_manager EngineState)" 's "running"' "EngineState after $what"
        assert_eq "$(bus_manager EngineAdopted)" "b true" "EngineAdopted after $what"
        assert_eq "$(bus_manager EngineUnit)" "s \"$scope\"" "EngineUnit after $what"
        assert "docker answers after $what" timeout 60 docker version
        log "after $what: dmwardend $(main_pid) adopted dockerd $dpid in $((SECONDS - t0)) s"
}

# --- set-up ------------------------------------------------------------------

# Restart=always: a SIGKILL is a failure anyway, but the watchdog's SIGABRT
# must bring it back too. No start limit: the kills come fast.
DMWARDEN_UNIT_PROPS=(-p Restart=always -p RestartSec=500ms -p StartLimitIntervalSec=0
                     -p WatchdogSec=10s -p TimeoutAbortSec=5s -p TimeoutStopSec=120s)
dmwarden_start_engine
dpid=$(dockerd_pid)
assert_eq "$(systemctl show -p ActiveState --value "$scope")" active "$scope"
assert "dockerd runs in $scope" grep -qx "$dpid" "/sys/fs/cgroup/system.slice/$scope/cgroup.procs"
refute "dockerd is not in $unit's cgroup" grep -qx "$dpid" "/sys/fs/cgroup/system.slice/$unit/cgroup.procs"
assert_eq "$(bus_manager EngineAdopted)" "b false" "EngineAdopted of the dmwardend that started dockerd"
docker_run_container survive-1
docker_run_container survive-2
defer "docker rm -f survive-1 survive-2 >/dev/null 2>&1 || true"
containers=$(containers_state)
read -r -a cpids <<<"$(docker inspect -f '{{.State.Pid}}' survive-1 survive-2 | tr '\n' ' ')"
adopted=0
log "dockerd $dpid in $scope, containers: $containers"
timing setup "$((SECONDS - t_start))"

# --- 1. SIGKILL ----------------------------------------------------------------

t0=$SECONDS
for i in $(seq 1 "$ENGINE_SURVIVES_KILLS"); do
        old=$(main_pid)
        kill -KILL "$old"
        check_after "SIGKILL $i to dmwardend $old"
done
timing sigkill-cycles "$((SECONDS - t0))"

# --- 2. SIGSTOP past the watchdog ----------------------------------------------

t0=$SECONDS
old=$(main_pid)
kill -STOP "$old"
check_after "SIGSTOP of dmwardend $old past its watchdog"
journalctl -b -u "$unit" -o cat --no-pager | grep -F "Watchdog timeout" >/dev/null ||
        fail "systemd never reported the watchdog firing"
timing watchdog "$((SECONDS - t0))"

# --- 3. re-execution (the upgrade path) -----------------------------------------

old=$(main_pid)
kill -USR2 "$old"
check_after "SIGUSR2 (re-exec) of dmwardend $old"
assert_eq "$(main_pid)" "$old" "dmwardend's PID across its re-execution"

# --- 4. systemctl stop still stops the engine ----------------------------------

t0=$SECONDS
engine_ns=$(mntns_of "$pin")
systemctl stop "$unit"
timing stop "$((SECONDS - t0))"
refute "dockerd $dpid is gone" test -e "/proc/$dpid"
for p in "${cpids[@]}"; do refute "container process $p is gone" test -e "/proc/$p"; done
wait_for 60 "$scope to stop" bash -c "! systemctl -q is-active $scope"
refute "the pin $pin is gone" test -e "$pin"
assert_eq "$(pids_in_mntns "$engine_ns" | wc -l)" 0 "processes left in the engine namespace"
log "done: $ENGINE_SURVIVES_KILLS SIGKILLs, a watchdog abort and a re-exec; dockerd $dpid kept its containers; $((SECONDS - t_start)) s"
timing total "$((SECONDS - t_start))"
