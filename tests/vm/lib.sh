# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers for VM scenarios. A scenario starts with
#     set -euo pipefail
#     . "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"
# and runs as root in a transient systemd unit of the booted guest, with
#     DMWARDEN_VM_ARTIFACTS  directory for extra files the host keeps
#     DMWARDEN_VM_SCENARIO   the scenario's name
#     DMWARDEN_VM_TIMINGS    file for "SCOPE WHAT SECONDS" lines (timing())
#     DMWARDEN_VM_DEADLINE   epoch when the unit is killed
# Everything runs 5-20x slower than on hardware (TCG): wait for conditions
# with wait_for and generous timeouts, never with a fixed sleep.
# Call assert*/fail at the top level of the scenario or of a function, not
# inside $(...): exit in a subshell only ends the subshell.

set -euo pipefail

VM_BUSYBOX_TAR=/usr/local/share/dmwarden-vm/busybox-rootfs.tar
# The scenarios' own programs (tests/vm/tools), copied in by tests/vm/run.
VM_TOOLS=/run/dmwarden-vm/in/tools
VM_BUSYBOX_IMAGE=dmwarden-vm/busybox:latest
# The unit that runs dockerd: docker.service, or a unit whose main process
# is dmwardend with dockerd as its child (see dockerd_pid).
DOCKER_UNIT=docker.service
: "${DMWARDEN_VM_ARTIFACTS:=/tmp/dmwarden-vm-artifacts}"
: "${DMWARDEN_VM_SCENARIO:=scenario}"
: "${DMWARDEN_VM_TIMINGS:=/dev/null}"
mkdir -p "$DMWARDEN_VM_ARTIFACTS"

# --- logging, cleanup, assertions -------------------------------------------

# Also to the journal, so scenario steps line up with dockerd's and the
# kernel's messages in journal.txt.
log() {
        printf '[%(%H:%M:%S)T +%3ds] %s\n' -1 "$SECONDS" "$*"
        logger -t "dmwarden-vm-$DMWARDEN_VM_SCENARIO" -- "$*" 2>/dev/null || true
}

timing() { echo "$DMWARDEN_VM_SCENARIO $1 $2" >>"$DMWARDEN_VM_TIMINGS"; }

# defer CMD...: run CMD (as one string, eval'd) when the scenario exits,
# last deferred first. Failures there are logged, not fatal.
_deferred=()
defer() { _deferred+=("$*"); }
_run_deferred() {
        local rc=$? i
        set +e
        for ((i = ${#_deferred[@]} - 1; i >= 0; i--)); do
                eval "${_deferred[i]}" || log "cleanup failed: ${_deferred[i]}"
        done
        exit "$rc"
}
trap _run_deferred EXIT

# Say which command set -e ended the scenario on.
set -o errtrace
trap 'echo "command failed (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

fail() {
        echo "ASSERTION FAILED: $*" >&2
        logger -t "dmwarden-vm-$DMWARDEN_VM_SCENARIO" -- "ASSERTION FAILED: $*" 2>/dev/null || true
        snapshot_state failure >/dev/null 2>&1 || true
        exit 1
}

# assert MESSAGE CMD...: CMD must succeed.
assert() {
        local msg=$1
        shift
        if "$@"; then log "ok: $msg"; else fail "$msg (failed: $*)"; fi
}

# refute MESSAGE CMD...: CMD must fail.
refute() {
        local msg=$1
        shift
        if "$@"; then fail "$msg (succeeded: $*)"; else log "ok: $msg"; fi
}

# assert_eq ACTUAL EXPECTED MESSAGE
assert_eq() {
        [[ $1 == "$2" ]] || fail "$3: expected '$2', got '$1'"
        log "ok: $3 ('$1')"
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD (quietly) until it succeeds;
# fail after SECONDS. The poll interval grows from 0.2 s to 2 s.
wait_for() {
        local limit=$1 what=$2 start=$SECONDS delay=0.2
        shift 2
        until "$@" >/dev/null 2>&1; do
                if ((SECONDS - start >= limit)); then
                        fail "timed out after $limit s waiting for: $what"
                fi
                sleep "$delay"
                case $delay in 0.2) delay=0.5 ;; 0.5) delay=1 ;; *) delay=2 ;; esac
        done
        log "waited $((SECONDS - start)) s for: $what"
}

# snapshot_state LABEL: device-mapper, mount and docker state into artifacts.
snapshot_state() {
        local d=$DMWARDEN_VM_ARTIFACTS/state-$1
        mkdir -p "$d"
        dmsetup info -c >"$d/dmsetup-info.txt" 2>&1 || true
        dmsetup info >"$d/dmsetup-info-long.txt" 2>&1 || true
        dmsetup status >"$d/dmsetup-status.txt" 2>&1 || true
        cat /proc/self/mountinfo >"$d/mountinfo.txt" 2>&1 || true
        ps -eo pid,ppid,stat,comm,args >"$d/ps.txt" 2>&1 || true
        lsblk >"$d/lsblk.txt" 2>&1 || true
        if systemctl -q is-active "$DOCKER_UNIT"; then
                timeout 60 docker info >"$d/docker-info.txt" 2>&1 || true
                timeout 60 docker ps -a >"$d/docker-ps.txt" 2>&1 || true
        fi
        echo "$d"
}

# --- device-mapper ----------------------------------------------------------

# dmsetup on a device-mapper name exactly as the kernel has it. dmsetup's
# default (--manglename auto) rewrites a name with any byte outside
# [A-Za-z0-9#+-.:=@_] into \xNN form and then finds no such device, so
# `dmsetup info "with space"` would call a live device gone. Plain names
# mean the same either way. Put the name after `--` (it may start with '-').
dmsetup_raw() { dmsetup --manglename none "$@"; }

dm_exists() { dmsetup_raw info -- "$1" >/dev/null 2>&1; }

dm_gone() { ! dm_exists "$1"; }

dm_open_count() { dmsetup_raw info -c --noheadings -o open -- "$1" | tr -d ' '; }

# "MAJOR:MINOR", as in /proc/*/mountinfo's third field.
dm_majmin() { dmsetup_raw info -c --noheadings -o major,minor --separator : -- "$1" | tr -d ' '; }

dm_node() { echo "/dev/dm-$(dmsetup_raw info -c --noheadings -o minor -- "$1" | tr -d ' ')"; }

# The "State:" line of dmsetup info, e.g. "ACTIVE (DEFERRED REMOVE)".
dm_state() { dmsetup_raw info -- "$1" | sed -n 's/^State: *//p'; }

dm_deferred_remove_pending() { [[ $(dm_state "$1") == *"DEFERRED REMOVE"* ]]; }

# PIDs whose mount table has a mount of MAJOR:MINOR.
pids_mounting() {
        local p
        for p in /proc/[0-9]*; do
                p=${p#/proc/}
                if mounts_device "$p" "$1"; then echo "$p"; fi
        done
        return 0
}

# mounts_device PID MAJOR:MINOR: the process's mount table has that device.
mounts_device() { awk -v mm="$2" '$3 == mm { found = 1; exit } END { exit !found }' "/proc/$1/mountinfo" 2>/dev/null; }

# in_list WORD LIST...: WORD is one of LIST (e.g. in_list "$pid" $(fuser_pids ...)).
in_list() {
        local w=$1
        shift
        [[ " $* " == *" $w "* ]]
}

# PIDs fuser -m reports for a block device (files, cwd, root, maps on it).
fuser_pids() { fuser -m "$1" 2>/dev/null | tr -s ' ' '\n' | sed -n 's/^\([0-9][0-9]*\).*/\1/p'; }

# --- docker -----------------------------------------------------------------

# docker_start [STORAGE_OPT...]: starts docker.service with the devicemapper
# driver in loop-lvm mode (no dm.thinpooldev: dockerd makes its pool on
# sparse loop files under /var/lib/docker/devicemapper) and the given
# --storage-opt values, if any. Waits for `docker info` and checks the
# driver and its deferral settings (docker_check_storage).
# shellcheck disable=SC2120 # the arguments are optional
docker_start() {
        local t0=$SECONDS
        docker_configure "$@"
        log "starting docker.service (devicemapper, loop-lvm${*:+, $*})"
        # --no-block: a failed start is reported by _docker_answers, with logs.
        systemctl start --no-block docker.service
        wait_for 600 "docker info to answer" _docker_answers
        timing docker-start "$((SECONDS - t0))"
        docker_check_storage "$@"
        log "docker is up after $((SECONDS - t0)) s"
}

# docker_check_storage [STORAGE_OPT...]: `docker info` (saved to the
# artifacts) shows the devicemapper driver, and deferred removal and
# deferred deletion as these options set them: on, as Docker 20.10 turns
# both on by default when the kernel and libdevmapper support them, unless
# dm.use_deferred_removal=false / dm.use_deferred_deletion=false says off.
docker_check_storage() {
        local removal=true deletion=true o
        for o; do
                case $o in
                dm.use_deferred_removal=*) removal=${o#*=} ;;
                dm.use_deferred_deletion=*) deletion=${o#*=} ;;
                esac
        done
        timeout 60 docker info >"$DMWARDEN_VM_ARTIFACTS/docker-info.txt" 2>&1
        assert_eq "$(docker_info_value 'Storage Driver')" devicemapper "docker's storage driver"
        assert_eq "$(docker_info_value 'Deferred Removal Enabled')" "$removal" "docker's deferred removal"
        assert_eq "$(docker_info_value 'Deferred Deletion Enabled')" "$deletion" "docker's deferred deletion"
}

# docker_configure [STORAGE_OPT...]: /etc/docker/daemon.json for the
# devicemapper driver in loop-lvm mode, with these storage options.
docker_configure() {
        local opts='' o
        for o in "$@"; do opts+="${opts:+, }\"$o\""; done
        mkdir -p /etc/docker
        printf '{\n  "storage-driver": "devicemapper",\n  "storage-opts": [%s]\n}\n' "$opts" \
                >/etc/docker/daemon.json
}

_docker_answers() {
        if systemctl -q is-failed docker.service; then
                journalctl -b -u docker.service -n 30 --no-pager >&2
                fail "docker.service failed to start"
        fi
        timeout 30 docker info >/dev/null 2>&1
}

# The value of a "Key: value" line of `docker info`.
docker_info_value() {
        timeout 60 docker info 2>/dev/null | sed -n "s/^ *$1: //p" | head -n 1
}

# Imports the busybox root file system baked into the image, once.
docker_import_busybox() {
        if ! docker image inspect "$VM_BUSYBOX_IMAGE" >/dev/null 2>&1; then
                docker import "$VM_BUSYBOX_TAR" "$VM_BUSYBOX_IMAGE" >/dev/null
                log "imported $VM_BUSYBOX_IMAGE"
        fi
}

# docker_run_container NAME [CMD...]: a detached busybox container (default
# command: sleep for a day), without network; waits until it runs.
docker_run_container() {
        local name=$1
        shift
        (($#)) || set -- sleep 86400
        docker_import_busybox
        docker run -d --name "$name" --network none "$VM_BUSYBOX_IMAGE" "$@" >/dev/null
        wait_for 120 "container $name to run" container_running "$name"
}

container_running() { [[ $(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null) == true ]]; }

container_exists() { docker inspect "$1" >/dev/null 2>&1; }

# The device-mapper name of the container's thin device (docker-M:m-I-HASH).
container_thin_device() { docker inspect -f '{{.GraphDriver.Data.DeviceName}}' "$1"; }

# dockerd of DOCKER_UNIT: its main process, or its child; a dockerd that
# dmwardend adopted is no child of the unit's main process, but runs in the
# unit's engine scope (UNIT-engine.scope).
dockerd_pid() {
        local main scope
        main=$(systemctl show -p MainPID --value "$DOCKER_UNIT")
        if [[ $(cat "/proc/$main/comm" 2>/dev/null) == dockerd ]]; then
                echo "$main"
        elif ! pgrep -P "$main" -x dockerd; then
                scope=/sys/fs/cgroup/system.slice/${DOCKER_UNIT%.service}-engine.scope
                [[ -e $scope/cgroup.procs ]] || return 1
                pgrep -x dockerd | grep -Fx -f "$scope/cgroup.procs"
        fi
}

# docker_stop: stops what docker_start started (docker.service with
# containerd.service and docker.socket) and waits until neither daemon runs,
# so a dockerd started otherwise finds no system containerd to attach to.
docker_stop() {
        local t0=$SECONDS
        # The trixie image has no Docker units: what is not there is stopped.
        systemctl stop docker.socket docker.service containerd.service 2>/dev/null || true
        wait_for 120 "dockerd and containerd to exit" _no_process dockerd containerd
        timing docker-stop "$((SECONDS - t0))"
}

_no_process() {
        local name
        for name; do ! pgrep -x "$name" >/dev/null || return 1; done
}

# Where dockerd mounted the container's thin device (.../devicemapper/mnt/ID;
# the container's root is its rootfs/), looked up by device number in
# dockerd's own mount table, so it also works when dockerd has a namespace
# of its own.
container_mount_point() {
        local majmin
        majmin=$(dm_majmin "$(container_thin_device "$1")")
        awk -v mm="$majmin" '$3 == mm { print $5; exit }' "/proc/$(dockerd_pid)/mountinfo"
}

# --- mount namespaces -------------------------------------------------------

# The inode of a mount namespace, from a PID or an nsfs file (such as the
# pin /run/dmwarden/engine.mnt).
mntns_of() {
        if [[ $1 == /* ]]; then stat -L -c %i "$1"; else stat -L -c %i "/proc/$1/ns/mnt"; fi
}

# ns_mounts_device NSFILE MAJOR:MINOR: the mount namespace NSFILE names (a
# pin, or /proc/PID/ns/mnt) has a mount of that device.
ns_mounts_device() {
        nsenter --mount="$1" cat /proc/self/mountinfo |
                awk -v mm="$2" '$3 == mm { found = 1 } END { exit !found }'
}

# PIDs whose mount namespace is the given inode.
pids_in_mntns() {
        local p
        for p in /proc/[0-9]*; do
                [[ $(stat -L -c %i "$p/ns/mnt" 2>/dev/null) == "$1" ]] && echo "${p#/proc/}"
        done
        return 0
}

# --- holders ----------------------------------------------------------------

# spawn_cwd_holder DIR [PROPAGATION]: a `sleep` in a new mount namespace
# (unshare -m, propagation private by default) whose cwd is DIR. Sets
# HOLDER_PID; the holder is killed when the scenario exits.
spawn_cwd_holder() {
        local dir=$1 propagation=${2:-private}
        # shellcheck disable=SC2016 # $1 is for the inner shell
        unshare --mount --propagation "$propagation" \
                sh -c 'cd "$1" && exec sleep 86400' holder "$dir" </dev/null >/dev/null 2>&1 &
        _holder_started "$dir" "unshare -m --propagation $propagation"
}

# spawn_engine_cwd_holder DIR [IGNORE_TERM]: the same from inside the engine
# namespace (nsenter into /run/dmwarden/engine.mnt, then unshare -m): the
# leak that is still possible under dmwarden, since the engine's mounts exist
# nowhere else. DIR is a path in the engine namespace. With IGNORE_TERM 1 the
# holder ignores SIGTERM, so Action=kill needs its SIGKILL after GraceSec=.
spawn_engine_cwd_holder() {
        local dir=$1 ignore_term=${2:-0}
        # shellcheck disable=SC2016 # $1 and $2 are for the inner shell
        nsenter --mount=/run/dmwarden/engine.mnt unshare --mount --propagation private \
                sh -c 'if [ "$2" = 1 ]; then trap "" TERM; fi; cd "$1" && exec sleep 86400' \
                holder "$dir" "$ignore_term" </dev/null >/dev/null 2>&1 &
        _holder_started "$dir" "nsenter engine.mnt, unshare -m$([[ $ignore_term == 1 ]] && echo ', SIGTERM ignored')"
}

_holder_started() {
        HOLDER_PID=$!
        defer "kill $HOLDER_PID 2>/dev/null || true"
        wait_for 60 "holder $HOLDER_PID to have its cwd in $1" _cwd_is "$HOLDER_PID" "$1"
        log "holder $HOLDER_PID: $2, cwd $1, mnt ns $(readlink "/proc/$HOLDER_PID/ns/mnt")"
}

_cwd_is() { [[ $(readlink "/proc/$1/cwd") == "$2" && $(cat "/proc/$1/comm") == sleep ]]; }

# stop_process PID: SIGTERM, then wait (up to 60 s) until it has exited
# (a zombie counts: it holds nothing any more), and reap it if it is ours.
stop_process() {
        kill "$1" 2>/dev/null || true
        wait_for 60 "process $1 to exit" _gone "$1"
        wait "$1" 2>/dev/null || true
}

_gone() { [[ ! -e /proc/$1 || $(ps -o stat= -p "$1") == Z* ]]; }

# --- dmwarden ---------------------------------------------------------------

# dmwarden_start_engine [CONFIG_LINE...]: stops docker.service and runs
# dmwardend as the transient unit dmwarden-vm.service with dockerd as its
# engine (daemon.json as docker_start writes it, with the storage options
# of the array DOCKER_STORAGE_OPTS, by default none), extra lines appended
# to its configuration (extra unit properties from DMWARDEN_UNIT_PROPS, as
# for dmwarden_start_stand_in); waits until the unit is active (READY=1 after
# dockerd's own) and docker answers, and checks the storage settings
# (docker_check_storage). Storage options given come out of daemon.json
# again when the scenario exits. To start it anew (another Action=, say),
# dmwarden_stop first.
# The configuration it replaces (the installed one) comes back when the
# scenario exits.
dmwarden_start_engine() {
        local t0=$SECONDS line conf=/etc/dmwarden/dmwarden.conf
        docker_stop
        docker_configure "${DOCKER_STORAGE_OPTS[@]}"
        if ((${#DOCKER_STORAGE_OPTS[@]})); then defer "docker_configure"; fi
        mkdir -p /etc/dmwarden
        # Only the first start of a scenario saves the installed file: a
        # second one (dmwarden_stop, then another Action=) would save the
        # first one's configuration over it.
        if [[ -z ${_ENGINE_CONF_SAVED:-} ]]; then
                _ENGINE_CONF_SAVED=1
                if [[ -e $conf ]]; then
                        cp -p "$conf" "$conf.engine-saved"
                        defer "mv -f $conf.engine-saved $conf"
                else
                        defer "rm -f $conf"
                fi
        fi
        {
                printf '[Engine]\nExecStart=/usr/sbin/dockerd\n'
                for line in "$@"; do printf '%s\n' "$line"; done
        } >"$conf"
        # A unit that failed in an earlier scenario stays loaded until reset.
        systemctl reset-failed dmwarden-vm.service 2>/dev/null || true
        systemd-run --unit dmwarden-vm -p Type=notify -p NotifyAccess=main -p KillMode=mixed \
                -p TimeoutStartSec=600 "${DMWARDEN_UNIT_PROPS[@]}" -E DMWARDEN_LOG_LEVEL=debug \
                "$(command -v dmwardend)"
        DOCKER_UNIT=dmwarden-vm.service
        defer "dmwarden_stop"
        wait_for 60 "docker to answer through dmwarden" _docker_answers_plain
        timing dmwarden-engine-start "$((SECONDS - t0))"
        docker_check_storage "${DOCKER_STORAGE_OPTS[@]}"
        log "dmwarden-vm.service active with dockerd $(dockerd_pid) after $((SECONDS - t0)) s"
}
DOCKER_STORAGE_OPTS=()

_docker_answers_plain() { timeout 30 docker info >/dev/null 2>&1; }

dmwarden_stop() {
        systemctl stop dmwarden-vm.service 2>/dev/null || true
        journalctl -b -u dmwarden-vm.service --no-pager >"$DMWARDEN_VM_ARTIFACTS/dmwardend.log" 2>&1 || true
}

# dmwarden_journal_says TEXT: whether dmwardend's journal has TEXT.
dmwarden_journal_says() {
        journalctl -b -u dmwarden-vm.service -o cat --no-pager | grep -qF -- "$1"
}

# The object path of a device, as the daemon gives it (busctl prints
# `o "/org/dmwarden1/device/..."`; object paths need no unquoting). `--`: a
# name may start with '-'.
dmwarden_device_path() {
        busctl call -- org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager GetDevice s "$1" |
                sed -n 's/^o "\(.*\)"$/\1/p'
}

# dmwarden_device_property NAME PROPERTY: busctl's text, e.g. `s "leaked"`.
dmwarden_device_property() {
        local path
        path=$(dmwarden_device_path "$1")
        [[ -n $path ]] || return 1
        busctl get-property org.dmwarden1 "$path" org.dmwarden1.Device "$2"
}

dmwarden_device_state_is() { [[ $(dmwarden_device_property "$1" State 2>/dev/null) == "s \"$2\"" ]]; }

# --- alerts -----------------------------------------------------------------

# MESSAGE_IDs of dmwardend's journal alerts, as daemon/reap/alert-ids.h defines
# them (tests/unit/test-vm-alert-ids.sh checks the two agree).
ALERT_LEAK_DETECTED=10bf6751bba8497ca46070064ae9715f
ALERT_HOLDER_REAPED=15fa5990a6754d1aa40734290b8a1387
ALERT_REAP_FAILED=32eabdbf0e2e49daad9a1cdd8594b0e6
ALERT_LEAK_STUCK=0071ce73822c4547b94fd0bb9266bbde
ALERT_DEVICE_RELEASED=45c1affd9d3c46968541a93112e321db
ALERT_DEVICE_REMOVED=ff9872f48f5742aa84df172a46f07c03
ALERT_REMOVAL_FAILED=4da1b3990e704558adbc3433e05101b3
ALERT_POOL_FILL=7c2e5b0a4f1d4e8b9a63d1f0c5b8e247

# alert_count ID DM_NAME: how many alerts of that kind the device had.
alert_count() {
        journalctl -b "MESSAGE_ID=$1" "DM_NAME=$2" -o cat --no-pager 2>/dev/null | grep -c . || true
}

alert_seen() { (($(alert_count "$1" "$2") > 0)); }

# alert_field ID DM_NAME FIELD: FIELD of the device's latest alert of that kind.
alert_field() {
        journalctl -b "MESSAGE_ID=$1" "DM_NAME=$2" -o verbose --no-pager 2>/dev/null |
                sed -n "s/^ *$3=//p" | tail -n 1
}

# alert_usec ID DM_NAME: when the device's first alert of that kind was
# written (CLOCK_REALTIME, µs).
alert_usec() {
        journalctl -b "MESSAGE_ID=$1" "DM_NAME=$2" -o export --no-pager 2>/dev/null |
                sed -n 's/^__REALTIME_TIMESTAMP=//p' | head -n 1
}

now_usec() { echo "${EPOCHREALTIME/./}"; }

# ms_since USEC_THEN USEC_NOW: the difference in milliseconds.
ms_between() { echo $((($2 - $1) / 1000)); }

# median_p95: "MEDIAN P95" of the numbers on stdin, one a line (nearest
# rank), or "- -" when there are none.
median_p95() {
        sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
                m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)]; print m, p }'
}

# dmwarden_manager_property NAME: a Manager property's value as busctl
# prints it after the type, e.g. 3 for DevicesRemoved.
dmwarden_manager_property() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | awk '{ print $2 }'
}

# spawn_engine_bind_holder SRC: a `sleep` in a mount namespace of its own,
# made from the engine namespace, with its own bind mount of SRC (the way a
# scanner or backup agent mounts snapshots): a leak that stays visible in
# that namespace's mount table. Sets HOLDER_PID and HOLDER_MOUNT.
spawn_engine_bind_holder() {
        local src=$1
        HOLDER_MOUNT=/mnt/dmwarden-holder/x
        # shellcheck disable=SC2016 # $1 and $2 are for the inner shell
        nsenter --mount=/run/dmwarden/engine.mnt unshare --mount --propagation private \
                sh -c 'mount -t tmpfs holder /mnt && mkdir -p "${2%/*}" && mkdir "$2" &&
                       mount --bind "$1" "$2" && exec sleep 86400' holder "$src" "$HOLDER_MOUNT" \
                </dev/null >/dev/null 2>&1 &
        HOLDER_PID=$!
        defer "kill $HOLDER_PID 2>/dev/null || true"
        wait_for 60 "holder $HOLDER_PID to have its bind mount" _holder_mounts_at "$HOLDER_PID" "$HOLDER_MOUNT"
        log "holder $HOLDER_PID: nsenter engine.mnt, unshare -m, bind mount of $src on $HOLDER_MOUNT, mnt ns $(readlink "/proc/$HOLDER_PID/ns/mnt")"
}

_holder_mounts_at() {
        [[ $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]] &&
                awk -v mp="$2" '$5 == mp { found = 1 } END { exit !found }' "/proc/$1/mountinfo"
}

alive() { [[ -e /proc/$1 && $(ps -o stat= -p "$1") != Z* ]]; }

# Whether the device is in a leak state: leaked, reaping, or stuck (what
# Action=report makes of a leak once it has told).
dmwarden_device_leaked() {
        local s
        s=$(dmwarden_device_property "$1" State 2>/dev/null) || return 1
        [[ $s == 's "leaked"' || $s == 's "reaping"' || $s == 's "stuck"' ]]
}

# --- a stand-in engine on a thin pool of our own (no Docker) ----------------
# Docker takes 10+ s a container under TCG; these helpers do what dockerd's
# devicemapper driver does to the kernel (a snapshot of a base device per
# container, mounted in the engine namespace, unmounted and removed with
# deferred removal at `docker rm`) in a fraction of that, so scenarios can
# run many leak cycles. The engine process itself is `sleep`.

# thin_pool_create [NAME]: a thin pool on two sparse loop files with thin
# device 0 made ext4 and left inactive: the base every snapshot copies.
# Sets THIN_POOL; the pool, any device still on it and the files go when
# the scenario exits.
thin_pool_create() {
        local name=${1:-tpool}
        thin_pool_create_empty "$name"
        dmsetup message "$name" 0 "create_thin 0"
        dmsetup create "$name-base" --table "0 2097152 thin /dev/mapper/$name 0"
        mkfs.ext4 -q -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "/dev/mapper/$name-base"
        # udev may still be probing what mkfs wrote.
        dmsetup remove --retry "$name-base"
        THIN_POOL=$name
        THIN_NEXT_ID=1
        log "thin pool $name, base thin 0 is ext4"
}

# thin_pool_create_empty NAME: the same pool with no thin device on it, for
# an engine that numbers its thin devices itself (containerd). Sets
# THIN_POOL.
thin_pool_create_empty() {
        local name=$1 work meta data
        work=$(mktemp -d "/var/tmp/$name.XXXXXX")
        truncate -s 64M "$work/meta" && truncate -s 4G "$work/data"
        meta=$(losetup -f --show "$work/meta")
        data=$(losetup -f --show "$work/data")
        dmsetup create "$name" --table "0 $((4 * 1024 * 1024 * 2)) thin-pool $meta $data 128 0"
        defer "_thin_pool_destroy $name $meta $data $work"
        THIN_POOL=$name
}

# Every thin device on the pool (by its table), then the pool and its files.
# Devices are found and removed by number, so any name goes.
_thin_pool_destroy() {
        local pool=$1 majmin sys dev table
        majmin=$(dm_majmin "$pool")
        for sys in /sys/block/dm-*; do
                dev=$(cat "$sys/dev" 2>/dev/null) || continue
                table=$(dmsetup table -j "${dev%:*}" -m "${dev#*:}" 2>/dev/null) || continue
                [[ $table == *" thin $majmin "* ]] || continue
                dmsetup remove --retry -j "${dev%:*}" -m "${dev#*:}" || true
        done
        dmsetup remove --retry "$pool"
        losetup -d "$2" "$3"
        rm -rf "$4"
}

# thin_snapshot NAME: a new thin snapshot of the base as dm device NAME
# (any bytes the kernel takes, see dmsetup_raw), the way dockerd makes each
# container's device. Sets THIN_ID. Call it directly, not in $(...): it
# counts ids in THIN_NEXT_ID.
thin_snapshot() {
        THIN_ID=$((THIN_NEXT_ID++))
        dmsetup message "$THIN_POOL" 0 "create_snap $THIN_ID 0"
        dmsetup_raw create --table "0 2097152 thin /dev/mapper/$THIN_POOL $THIN_ID" -- "$1"
}

# engine_do CMD...: run CMD in the engine namespace (through dmwardend's pin).
engine_do() { nsenter --mount=/run/dmwarden/engine.mnt "$@"; }

# engine_mount NAME: mount dm device NAME in the engine namespace on
# /run/thin-engine/NAME and print that path, as dockerd mounts a container.
# A NAME with bytes udev will not put in a link name is mounted by its dm-N
# node (its /dev/mapper link is not NAME). "." and ".." get the mount point
# /run/thin-engine/dm-N, and a node of their own, /dev/thin-engine-dm-N:
# mount(8) turns /dev/dm-N into /dev/mapper/NAME, the directory itself for
# those two (and /run is nodev).
engine_mount() {
        local dir node=/dev/mapper/$1 majmin
        dir=$(_engine_mount_dir "$1")
        case $1 in
        . | ..)
                majmin=$(dm_majmin "$1")
                node=/dev/thin-engine-${dir##*/}
                rm -f "$node"
                mknod "$node" b "${majmin%:*}" "${majmin#*:}"
                ;;
        *[!A-Za-z0-9#+.:=@_-]*) node=$(dm_node "$1") ;;
        esac
        engine_do sh -c 'mkdir -p "$1" && mount "$2" "$1"' mount "$dir" "$node"
        echo "$dir"
}

_engine_mount_dir() {
        case $1 in
        . | ..) echo "/run/thin-engine/$(dm_node "$1" | sed 's|^/dev/||')" ;;
        *) echo "/run/thin-engine/$1" ;;
        esac
}

# engine_let_go NAME: what dockerd does at `docker rm`: unmount the device
# in the engine namespace and remove it with deferred removal, so the kernel
# removes it at its last close (and sets the flag dmwarden reads as "the
# engine let it go").
engine_let_go() {
        engine_do umount "$(_engine_mount_dir "$1")"
        dmsetup_raw remove --deferred -- "$1"
}

# engine_remove_forced NAME: what containerd's devmapper snapshotter does
# to remove a snapshot's device: up to 100 tries, 100 ms apart, of
# `dmsetup remove --force --retry` (the first swaps a busy device's table
# for error; --retry makes each try itself retry 25 times 200 ms apart).
# engine_remove_plain NAME: what Docker's devicemapper driver does with
# deferred removal off: up to 200 plain removals 100 ms apart.
# Both print how many tries the engine's own removal took and succeed, or
# fail once the engine gives up (or the device went by another hand, so
# its next try found nothing: that is no removal of the engine's).
engine_remove_forced() { _engine_remove 100 "$1" --force --retry; }
engine_remove_plain() { _engine_remove 200 "$1"; }

_engine_remove() {
        local tries=$1 name=$2 try
        shift 2
        for ((try = 1; try <= tries; try++)); do
                if dmsetup_raw remove "$@" -- "$name" 2>/dev/null; then
                        echo "$try"
                        return 0
                fi
                dm_exists "$name" || return 1
                sleep 0.1
        done
        return 1
}

# dmwarden_start_stand_in [CONFIG_LINE...]: dmwardend as dmwarden-vm.service
# with `sleep` as its engine (Type=simple) and the thin devices of
# THIN_POOL watched; extra configuration lines are appended. Extra unit
# properties (say -p Restart=always) come from the array DMWARDEN_UNIT_PROPS,
# the log level from DMWARDEN_LOG_LEVEL (default debug).
# Stops Docker first, so only our devices come and go. The configuration it
# replaces comes back when the scenario exits: a later scenario must not run
# Docker with Type=simple or watch only THIN_POOL.
dmwarden_start_stand_in() {
        local t0=$SECONDS line conf=/etc/dmwarden/dmwarden.conf
        docker_stop
        mkdir -p /etc/dmwarden
        if [[ -e $conf ]]; then
                cp -p "$conf" "$conf.stand-in-saved"
                defer "mv -f $conf.stand-in-saved $conf"
        else
                defer "rm -f $conf"
        fi
        {
                printf '[Engine]\nExecStart=/bin/sleep infinity\nType=simple\n'
                printf '[Watch]\nPool=%s\n' "${THIN_POOL:?call thin_pool_create first}"
                for line in "$@"; do printf '%s\n' "$line"; done
        } >/etc/dmwarden/dmwarden.conf
        systemctl reset-failed dmwarden-vm.service 2>/dev/null || true
        systemd-run --unit dmwarden-vm -p Type=notify -p NotifyAccess=main -p KillMode=mixed \
                -p TimeoutStartSec=600 "${DMWARDEN_UNIT_PROPS[@]}" -E "DMWARDEN_LOG_LEVEL=${DMWARDEN_LOG_LEVEL:-debug}" \
                "$(command -v dmwardend)"
        defer "dmwarden_stop"
        wait_for 60 "the engine namespace pin" test -e /run/dmwarden/engine.mnt
        timing dmwarden-stand-in-start "$((SECONDS - t0))"
        log "dmwarden-vm.service active with a stand-in engine after $((SECONDS - t0)) s"
}
DMWARDEN_UNIT_PROPS=()

# --- containerd (the trixie image) ------------------------------------------
# containerd 1.7 with its devmapper snapshotter on a pool of
# thin_pool_create_empty, run by dmwardend as its engine. The snapshotter
# names its thin devices POOL-snap-N and removes one as engine_remove_forced
# does: `dmsetup remove --force` with retries (libdevmapper's, and up to 100
# of its own, 100 ms apart), so a busy device gets the error table first.

CTR_NAMESPACE=dmwarden-vm
CTR_IMAGE=docker.io/dmwarden-vm/busybox:latest

# ctr in the scenarios' containerd namespace. Its socket is a file in the
# host's /run (containerd mounts nothing over it), so the host reaches the
# containerd in the engine namespace through it.
ctr_do() { timeout 120 ctr --namespace "$CTR_NAMESPACE" "$@"; }

# containerd_configure POOL: /etc/containerd/config.toml for the devmapper
# snapshotter on POOL. No CRI (nothing here speaks it); the garbage
# collector runs after every deletion, so removing a container removes its
# thin device within moments, as a busy node's collector would.
containerd_configure() {
        mkdir -p /etc/containerd
        if [[ -e /etc/containerd/config.toml ]]; then
                cp -p /etc/containerd/config.toml /etc/containerd/config.toml.dmwarden-vm-saved
                defer "mv -f /etc/containerd/config.toml.dmwarden-vm-saved /etc/containerd/config.toml"
        else
                defer "rm -f /etc/containerd/config.toml"
        fi
        cat >/etc/containerd/config.toml <<EOF
version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[plugins."io.containerd.snapshotter.v1.devmapper"]
  pool_name = "$1"
  root_path = "/var/lib/containerd/devmapper-$1"
  base_image_size = "128MB"
  async_remove = false

[plugins."io.containerd.gc.v1.scheduler"]
  deletion_threshold = 1
  schedule_delay = "0s"
EOF
}

# dmwarden_start_containerd [CONFIG_LINE...]: dmwardend as
# dmwarden-vm.service with containerd as its engine (Type=notify: dmwardend
# is ready once containerd has said READY=1) and the thin devices of
# THIN_POOL watched, extra configuration lines appended. containerd.service
# is stopped first. The configurations it replaces come back when the
# scenario exits. Sets CONTAINERD_PID.
dmwarden_start_containerd() {
        local t0=$SECONDS line conf=/etc/dmwarden/dmwarden.conf
        systemctl stop containerd.service
        wait_for 120 "containerd to exit" _no_process containerd
        # An earlier scenario's state names images and snapshots on a pool
        # that is gone: each one starts on an empty containerd.
        rm -rf /var/lib/containerd /run/containerd
        containerd_configure "${THIN_POOL:?call thin_pool_create_empty first}"
        mkdir -p /etc/dmwarden
        if [[ -e $conf ]]; then
                cp -p "$conf" "$conf.containerd-saved"
                defer "mv -f $conf.containerd-saved $conf"
        else
                defer "rm -f $conf"
        fi
        {
                printf '[Engine]\nExecStart=/usr/bin/containerd\nType=notify\n'
                printf '[Watch]\nPool=%s\n' "$THIN_POOL"
                for line in "$@"; do printf '%s\n' "$line"; done
        } >"$conf"
        systemctl reset-failed dmwarden-vm.service 2>/dev/null || true
        _containerd_dmsetup_trace
        # Without --no-block: systemd-run returns once the unit is active,
        # that is once containerd is.
        systemd-run --unit dmwarden-vm -p Type=notify -p NotifyAccess=main -p KillMode=mixed \
                -p Delegate=yes -p TimeoutStartSec=600 -E "PATH=$CTR_DMSETUP_DIR:$PATH" \
                -E "DMWARDEN_LOG_LEVEL=${DMWARDEN_LOG_LEVEL:-debug}" "$(command -v dmwardend)"
        defer "dmwarden_stop"
        CONTAINERD_PID=$(containerd_pid)
        [[ -n $CONTAINERD_PID ]] || fail "no containerd under dmwarden-vm.service"
        wait_for 60 "ctr version to answer" ctr_do version
        timing dmwarden-containerd-start "$((SECONDS - t0))"
        log "dmwarden-vm.service active with containerd $CONTAINERD_PID after $((SECONDS - t0)) s"
}

# containerd runs `dmsetup` from its PATH: dmwarden_start_containerd puts
# a wrapper first there that appends "EPOCH-SECONDS ARGS..." to
# CTR_DMSETUP_LOG and runs the real one, so a scenario can count the tries
# of containerd's removal of a device exactly (containerd logs only every
# tenth: "retrying... (10 of 100)").
CTR_DMSETUP_DIR=/usr/local/libexec/dmwarden-vm/dmsetup-trace
CTR_DMSETUP_LOG=/run/dmwarden-vm-dmsetup.log
_containerd_dmsetup_trace() {
        mkdir -p "$CTR_DMSETUP_DIR"
        # shellcheck disable=SC2016 # the wrapper expands them
        printf '#!/bin/sh\necho "$(date +%%s.%%N) $*" >>%s\nexec %s "$@"\n' \
                "$CTR_DMSETUP_LOG" "$(command -v dmsetup)" >"$CTR_DMSETUP_DIR/dmsetup"
        chmod 755 "$CTR_DMSETUP_DIR/dmsetup"
        : >"$CTR_DMSETUP_LOG"
        defer "cp $CTR_DMSETUP_LOG $DMWARDEN_VM_ARTIFACTS/dmsetup-calls.txt"
}

# ctr_removal_tries DEV: how many times containerd ran `dmsetup remove` on
# DEV (it names the device by its /dev/mapper path).
ctr_removal_tries() {
        awk -v d="$1" '$2 == "remove" && ($NF == d || $NF == "/dev/mapper/" d) { n++ } END { print n + 0 }' \
                "$CTR_DMSETUP_LOG"
}

# containerd_retry_lines SINCE_USEC: containerd's "retrying..." warnings
# (one every tenth try of a removal) in the unit's journal since then.
containerd_retry_lines() {
        journalctl -b -u dmwarden-vm.service --since "@$(($1 / 1000000))" -o cat --no-pager |
                grep -c 'retrying\.\.\.' || true
}

# The containerd that dmwardend (dmwarden-vm.service's main process) runs.
containerd_pid() {
        pgrep -P "$(systemctl show -p MainPID --value dmwarden-vm.service)" -x containerd
}

# containerd_import_busybox: the busybox root file system of the image as a
# one-layer OCI archive (made here: no network in the guest), imported and
# unpacked into the devmapper snapshotter as $CTR_IMAGE. Once.
containerd_import_busybox() {
        if ctr_do images ls -q | grep -qxF "$CTR_IMAGE"; then return 0; fi
        local oci archive
        oci=$(mktemp -d /var/tmp/busybox-oci.XXXXXX)
        archive=$oci.tar
        defer "rm -rf $oci $archive"
        _oci_layout "$oci"
        tar -C "$oci" -cf "$archive" oci-layout index.json blobs
        assert "ctr images import --snapshotter devmapper" \
                ctr_do images import --snapshotter devmapper "$archive"
        assert "ctr images ls lists $CTR_IMAGE" _ctr_has_image
}

_ctr_has_image() { ctr_do images ls -q | grep -qxF "$CTR_IMAGE"; }

# _oci_blob DIR FILE: moves FILE into DIR's blobs and prints its digest.
_oci_blob() {
        local sum
        sum=$(sha256sum <"$2" | cut -d' ' -f1)
        mv "$2" "$1/blobs/sha256/$sum"
        echo "sha256:$sum"
}

_oci_size() { stat -c %s "$1/blobs/sha256/${2#sha256:}"; }

# _oci_layout DIR: an OCI image layout of one uncompressed layer.
_oci_layout() {
        local dir=$1 layer config manifest
        mkdir -p "$dir/blobs/sha256"
        cp "$VM_BUSYBOX_TAR" "$dir/layer.tar"
        layer=$(_oci_blob "$dir" "$dir/layer.tar")
        printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
                "$layer" >"$dir/config.json"
        config=$(_oci_blob "$dir" "$dir/config.json")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
                "$config" "$(_oci_size "$dir" "$config")" "$layer" "$(_oci_size "$dir" "$layer")" >"$dir/manifest.json"
        manifest=$(_oci_blob "$dir" "$dir/manifest.json")
        printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"}}]}' \
                "$manifest" "$(_oci_size "$dir" "$manifest")" "$CTR_IMAGE" >"$dir/index.json"
        echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
}

# ctr_run_container ID: a detached busybox task (sleep for a day) on the
# devmapper snapshotter; waits until it runs.
ctr_run_container() {
        containerd_import_busybox
        assert "ctr run -d --snapshotter devmapper $CTR_IMAGE $1" \
                ctr_do run -d --null-io --snapshotter devmapper "$CTR_IMAGE" "$1" sleep 86400
        wait_for 120 "task $1 to run" ctr_task_status_is "$1" RUNNING
}

# ctr_task_status_is ID STATUS: `ctr tasks ls` shows the task in STATUS.
ctr_task_status_is() {
        [[ $(ctr_do tasks ls | awk -v id="$1" '$1 == id { print $3 }') == "$2" ]]
}

# The device-mapper name of a container's snapshot (its key is the
# container's ID), from the mount the snapshotter hands out for it.
ctr_snapshot_device() {
        ctr_do snapshots --snapshotter devmapper mounts /unused "$1" |
                sed -n 's|.* /dev/mapper/\([^ ]*\) .*|\1|p' | head -n 1
}

# Where the runc shim mounted the container's root, in the engine namespace.
ctr_rootfs() { echo "/run/containerd/io.containerd.runtime.v2.task/$CTR_NAMESPACE/$1/rootfs"; }
