#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The engine supervisor with the real engine: a Type=notify unit runs
# dmwardend, which runs dockerd (devicemapper, loop-lvm, as docker_start
# sets it up) in a mount namespace of its own, pinned at
# /run/dmwarden/engine.mnt. Checked as a user would:
#
# 1. started directly: the unit is active only once dockerd answers;
#    `docker run --rm ... echo ok` works; a running container's thin device
#    is mounted in the engine namespace and in no host namespace; a host
#    `unshare -m sleep` made meanwhile holds nothing, so `docker rm -f`
#    removes the device at once; `systemctl stop` stops dockerd cleanly and
#    leaves no pin and no mount behind;
# 2. started by socket activation (a docker.socket-like unit, dockerd with
#    -H fd://): `docker version` starts it, and dockerd gets the socket with
#    LISTEN_PID and LISTEN_FDNAMES;
# 3. the mis-set-up: with containerd.service running on the host, dockerd
#    attaches to that containerd, and dmwardend warns in the journal.
#
# Shares its boot with the baseline scenario: stops the docker.service that
# docker_start left running, and puts everything back when done.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

unit=dmwarden-engine-test
sock_unit=dmwarden-engine-sock
conf_dir=/run/dmwarden-engine-test
pin=/run/dmwarden/engine.mnt
host_ns=$(mntns_of 1)

dmwardend=$(command -v dmwardend) || fail "dmwardend is not installed (run with --build-dir)"
log "dmwardend: $dmwardend ($("$dmwardend" --version))"

# --- set-up ------------------------------------------------------------------

# dmwarden starts the engine itself: nothing else may run dockerd or a
# containerd that dockerd would attach to instead of starting its own.
docker_stop
refute "containerd.service left no socket for dockerd to attach to" \
        test -e /run/containerd/containerd.sock

# The flag below and daemon.json may not both name the storage driver.
if [[ -e /etc/docker/daemon.json ]]; then
        mv /etc/docker/daemon.json /etc/docker/daemon.json.engine-test
        defer "mv /etc/docker/daemon.json.engine-test /etc/docker/daemon.json"
fi

mkdir -p "$conf_dir"
defer "rm -rf $conf_dir"
printf '[Engine]\nExecStart=/usr/sbin/dockerd --storage-driver devicemapper\n' >"$conf_dir/direct.conf"
printf '[Engine]\nExecStart=/usr/sbin/dockerd -H fd:// --storage-driver devicemapper\n' >"$conf_dir/socket.conf"

# write_service NAME CONFIG: a unit as docs/install.md describes.
write_service() {
        cat >"/run/systemd/system/$1.service" <<EOF
[Unit]
Description=dmwarden engine test: dockerd under dmwardend ($2)

[Service]
Type=notify
ExecStart=$dmwardend --config $conf_dir/$2
ExecReload=/bin/kill -HUP \$MAINPID
KillMode=mixed
TimeoutStartSec=10min
TimeoutStopSec=2min
Delegate=yes
LimitNOFILE=1048576
TasksMax=infinity
EOF
}
write_service "$unit" direct.conf
write_service "$sock_unit" socket.conf
cat >"/run/systemd/system/$sock_unit.socket" <<EOF
[Unit]
Description=dmwarden engine test: the Docker API socket

[Socket]
ListenStream=/run/docker.sock
SocketMode=0660
SocketGroup=docker
FileDescriptorName=docker-api
EOF
defer "rm -f /run/systemd/system/$unit.service /run/systemd/system/$sock_unit.service /run/systemd/system/$sock_unit.socket; systemctl daemon-reload"
defer "systemctl stop $sock_unit.socket $sock_unit.service $unit.service"
systemctl daemon-reload

docker_answers() { timeout 60 docker version --format '{{.Server.Version}}' >/dev/null; }

unit_state() { systemctl show -p ActiveState --value "$1"; }

unit_state_is_not() { [[ $(unit_state "$1") != "$2" ]]; }

# The unit's journal since EPOCH, messages only.
unit_journal() { journalctl -b -u "$1" --since "@$2" -o cat --no-pager; }

journal_has() { unit_journal "$1" "$2" | grep -qF -- "$3"; }

_copier_runs() { [[ $(mntns_of "$1") != "$host_ns" && $(cat "/proc/$1/comm") == sleep ]]; }

# The warning about a containerd outside the engine namespace, at priority
# warning or higher.
_warned() {
        journalctl -b -u "$unit" --since "@$since" -p warning -o cat --no-pager | grep -qF "containerd (PID $1) runs in mount namespace"
}

# stop_and_check UNIT SINCE: systemctl stop; dockerd must exit by itself
# after SIGTERM, and leave no pin, namespace or mount behind.
stop_and_check() {
        local u=$1 since=$2 t0=$SECONDS dpid engine_ns leftover
        dpid=$(DOCKER_UNIT=$u dockerd_pid)
        engine_ns=$(mntns_of "$pin")
        systemctl stop "$u"
        timing "stop-$u" "$((SECONDS - t0))"
        log "systemctl stop $u took $((SECONDS - t0)) s"
        assert_eq "$(systemctl show -p Result --value "$u")" success "result of $u"
        assert_eq "$(systemctl show -p ExecMainStatus --value "$u")" 0 "dmwardend's exit status"
        wait_for 60 "the journal to record dockerd's exit" \
                journal_has "$u" "$since" "Engine (PID $dpid) exited"
        unit_journal "$u" "$since" >"$DMWARDEN_VM_ARTIFACTS/journal-$u.txt"
        log "journal: $(grep -F "Engine (PID $dpid) exited" "$DMWARDEN_VM_ARTIFACTS/journal-$u.txt")"
        if ! journal_has "$u" "$since" "Engine (PID $dpid) exited successfully." &&
                ! journal_has "$u" "$since" "Engine (PID $dpid) killed by signal TERM."; then
                fail "dockerd did not stop cleanly (see journal-$u.txt)"
        fi
        refute "nothing of $u needed SIGKILL" journal_has "$u" "$since" SIGKILL
        refute "dockerd (PID $dpid) is gone" test -e "/proc/$dpid"
        refute "the pin $pin is gone" test -e "$pin"
        assert_eq "$(pids_in_mntns "$engine_ns" | wc -l)" 0 "processes left in the engine namespace"
        leftover=$(grep -l -E " $pin | /var/lib/docker/devicemapper/" /proc/[0-9]*/mountinfo 2>/dev/null || true)
        assert_eq "${leftover//$'\n'/ }" "" "mount tables that still show the pin or a devicemapper mount"
}

# --- 1. started directly -----------------------------------------------------

since=$(date +%s)
t0=$SECONDS
systemctl start --no-block "$unit.service"
DOCKER_UNIT=$unit.service
wait_for 60 "$unit to begin starting" unit_state_is_not "$unit" inactive
# dockerd takes seconds to come up: a unit active sooner did not wait for it.
assert_eq "$(unit_state "$unit")" activating "$unit while dockerd starts"
wait_for 600 "$unit to finish starting" unit_state_is_not "$unit" activating
assert_eq "$(unit_state "$unit")" active "$unit after start-up"
assert "docker answers as soon as $unit is active" docker_answers
timing dmwarden-dockerd-start "$((SECONDS - t0))"
log "dockerd under dmwardend ready after $((SECONDS - t0)) s"

dpid=$(dockerd_pid)
engine_ns=$(mntns_of "$pin")
log "dmwardend PID $(systemctl show -p MainPID --value "$unit"), dockerd PID $dpid, engine namespace $engine_ns, host $host_ns"
assert_eq "$(mntns_of "$dpid")" "$engine_ns" "dockerd's namespace is the pinned one"
refute "the engine namespace is not the host's" test "$engine_ns" = "$host_ns"
assert_eq "$(mntns_of "$(pgrep -P "$dpid" -x containerd)")" "$engine_ns" \
        "namespace of the containerd that dockerd started"
assert "STATUS= says the engine runs" \
        grep -q "Engine running (PID $dpid)" <<<"$(systemctl show -p StatusText --value "$unit")"

docker_import_busybox
t0=$SECONDS
assert_eq "$(docker run --rm --network none "$VM_BUSYBOX_IMAGE" echo ok)" ok "docker run --rm echo ok"
timing docker-run-rm "$((SECONDS - t0))"

docker_run_container engine-c1
defer "docker rm -f engine-c1 >/dev/null 2>&1 || true"
dev=$(container_thin_device engine-c1)
majmin=$(dm_majmin "$dev")
container_ns=$(mntns_of "$(docker inspect -f '{{.State.Pid}}' engine-c1)")
log "container engine-c1: thin device $dev ($majmin), container namespace $container_ns"
assert "the thin device is mounted in the engine namespace" ns_mounts_device "$pin" "$majmin"

# A host process that copies the mount table now, as PrivateTmp= does.
unshare --mount --propagation private sleep 86400 </dev/null >/dev/null 2>&1 &
copier=$!
defer "kill $copier 2>/dev/null || true"
wait_for 60 "unshare -m sleep to run in a namespace of its own" _copier_runs "$copier"
snapshot_state container-running >/dev/null

# Every mount of the device: only the engine's and the container's own.
log "$(stat -L -c %i /proc/[0-9]*/ns/mnt 2>/dev/null | sort -u | wc -l) mount namespaces on the machine"
for p in $(pids_mounting "$majmin"); do
        ns=$(mntns_of "$p" 2>/dev/null) || continue
        if [[ $ns != "$engine_ns" && $ns != "$container_ns" ]]; then
                fail "PID $p ($(cat "/proc/$p/comm")) in host namespace $ns mounts $dev ($majmin)"
        fi
done
log "ok: no host namespace mounts $majmin"
refute "the unshare -m copy (PID $copier) has no mount of $majmin" mounts_device "$copier" "$majmin"

t0=$SECONDS
assert "docker rm -f engine-c1" docker rm -f engine-c1
log "docker rm -f took $((SECONDS - t0)) s"
t0=$SECONDS
if dm_exists "$dev"; then
        state=$(dm_state "$dev" || true)
        [[ $state != *"DEFERRED REMOVE"* ]] || fail "$dev is left for deferred removal: $state"
        wait_for 30 "$dev to be removed" dm_gone "$dev"
fi
log "ok: $dev removed $((SECONDS - t0)) s after docker rm -f returned"
timing rm-returned-to-device-gone "$((SECONDS - t0))"
assert "the unshare -m copy still runs" test -e "/proc/$copier"
stop_process "$copier"

stop_and_check "$unit.service" "$since"

# --- 2. socket activation ----------------------------------------------------

since=$(date +%s)
DOCKER_UNIT=$sock_unit.service
systemctl start "$sock_unit.socket"
assert_eq "$(unit_state "$sock_unit.service")" inactive "$sock_unit.service before the first connection"
t0=$SECONDS
server=$(timeout 600 docker version --format '{{.Server.Version}}') || fail "docker version through socket activation"
timing socket-activation-first-answer "$((SECONDS - t0))"
log "docker version answered through socket activation after $((SECONDS - t0)) s: server $server"
assert_eq "$(unit_state "$sock_unit.service")" active "$sock_unit.service after the first connection"

dpid=$(dockerd_pid)
environment=$(tr '\0' '\n' <"/proc/$dpid/environ")
assert_eq "$(sed -n 's/^LISTEN_PID=//p' <<<"$environment")" "$dpid" "dockerd's LISTEN_PID"
assert_eq "$(sed -n 's/^LISTEN_FDS=//p' <<<"$environment")" 1 "dockerd's LISTEN_FDS"
assert_eq "$(sed -n 's/^LISTEN_FDNAMES=//p' <<<"$environment")" docker-api "dockerd's LISTEN_FDNAMES"
assert_eq "$(mntns_of "$dpid")" "$(mntns_of "$pin")" "socket-activated dockerd runs in the pinned namespace"
assert_eq "$(docker run --rm --network none "$VM_BUSYBOX_IMAGE" echo ok)" ok "docker run --rm echo ok, socket-activated"

systemctl stop "$sock_unit.socket"
stop_and_check "$sock_unit.service" "$since"

# --- 3. the mis-set-up: a containerd outside the engine namespace ------------

since=$(date +%s)
DOCKER_UNIT=$unit.service
systemctl start containerd.service
defer "systemctl stop containerd.service"
wait_for 120 "containerd.service's socket" test -S /run/containerd/containerd.sock
host_containerd=$(systemctl show -p MainPID --value containerd.service)
t0=$SECONDS
systemctl start "$unit.service"
log "dockerd with a host containerd up after $((SECONDS - t0)) s"
wait_for 60 "dmwardend's warning about containerd (PID $host_containerd)" _warned "$host_containerd"
log "journal: $(unit_journal "$unit" "$since" | grep -F "containerd (PID $host_containerd)")"
refute "dockerd started no containerd of its own" pgrep -P "$(dockerd_pid)" -x containerd
stop_and_check "$unit.service" "$since"
systemctl stop containerd.service
