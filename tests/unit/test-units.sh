#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped units: systemd-analyze verify finds nothing to say, nothing in
# dmwarden.service gives dmwardend a mount namespace of its own, nothing in
# either unit stops or starts an engine's own units, it has what
# a container engine's unit needs, and its timeouts leave room for
# dmwardend's own (from dmwardend --dump-config). TAP output.
set -u

service=${DMWARDEN_SERVICE:?run through meson}
socket=${DMWARDEN_SOCKET:?run through meson}
dmwardend=${DMWARDEND:?run through meson}
sbindir=${DMWARDEN_SBINDIR:?run through meson}

if ! command -v systemd-analyze >/dev/null; then
        echo "SKIP: systemd-analyze is not installed"
        [[ ${DMWARDEN_REQUIRE_ALL:-0} == 1 ]] && exit 1
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# check DESCRIPTION COMMAND...: one TAP line.
check() {
        local what=$1
        shift
        n=$((n + 1))
        if "$@"; then
                echo "ok $n - $what"
        else
                echo "not ok $n - $what"
                failed=$((failed + 1))
        fi
}

# The last assignment of a key in the service, as systemd reads it.
value() {
        sed -n "s/^$1=//p" "$service" | tail -n 1
}

usec() {
        LC_ALL=C systemd-analyze timespan "$1" | awk '$1 == "us:" { print $2 }'
}

# verify wants the binary to exist: the one just built stands in.
sed "s|^ExecStart=.*|ExecStart=$dmwardend|" "$service" >"$tmp/dmwarden.service"
cp "$socket" "$tmp/dmwarden.socket"
verify_quiet() {
        local out rc=0
        out=$(systemd-analyze verify --man=no "$tmp/dmwarden.service" "$tmp/dmwarden.socket" 2>&1) || rc=$?
        if [[ $rc -ne 0 || -n $out ]]; then
                echo "# $out"
                return 1
        fi
}
check "systemd-analyze verify says nothing" verify_quiet

check "ExecStart= is the installed dmwardend" test "$(value ExecStart)" = "$sbindir/dmwardend"
check "Type=notify" test "$(value Type)" = notify
check "BusName=org.dmwarden1" test "$(value BusName)" = org.dmwarden1
check "RuntimeDirectory=dmwarden (the engine pin)" test "$(value RuntimeDirectory)" = dmwarden
check "KillMode=mixed" test "$(value KillMode)" = mixed
check "Delegate=yes" test "$(value Delegate)" = yes
check "TasksMax=infinity" test "$(value TasksMax)" = infinity
# Watch-only runs beside the engine's own units: installing, starting,
# stopping or restarting dmwarden never stops or starts them.
check "no Conflicts= in the service (it would stop a running engine)" \
        bash -c '! grep -qE "^Conflicts=" "$1"' - "$service"
check "no Conflicts= in the socket (docker.service requires docker.socket)" \
        bash -c '! grep -qE "^Conflicts=" "$1"' - "$socket"
check "nothing in the service pulls in or binds to an engine unit" \
        bash -c '! grep -qE "^(Wants|Requires|Requisite|BindsTo|PartOf|Upholds|PropagatesStopTo)=.*(docker|containerd)" "$1"' \
        - "$service"
check "After=docker.service containerd.service (watch-only finds the engine up)" \
        grep -qE '^After=docker\.service containerd\.service$' "$service"

# Each of these makes systemd set up a mount namespace for the service.
for key in ProtectSystem ProtectHome PrivateTmp PrivateMounts PrivateDevices ProtectKernelTunables \
        ProtectKernelModules ProtectKernelLogs ProtectControlGroups ProtectProc ProcSubset ReadOnlyPaths \
        ReadWritePaths InaccessiblePaths ExecPaths NoExecPaths TemporaryFileSystem BindPaths \
        BindReadOnlyPaths RootDirectory RootImage MountFlags MountImages ExtensionImages PrivateUsers; do
        check "no $key= (it would hide the host's mounts)" test -z "$(value "$key")"
done

: >"$tmp/empty.conf" # the defaults: a named file must exist
dump=$("$dmwardend" --config "$tmp/empty.conf" --dump-config)
engine_setting() {
        sed -n "s/^$1=//p" <<<"$dump" | head -n 1
}
stop=$(usec "$(value TimeoutStopSec)") engine_stop=$(usec "$(engine_setting StopTimeoutSec)")
check "TimeoutStopSec= ($stop) outlasts StopTimeoutSec= ($engine_stop)" test "$stop" -gt "$engine_stop"
start=$(usec "$(value TimeoutStartSec)") engine_start=$(usec "$(engine_setting TimeoutStartSec)")
check "TimeoutStartSec= ($start) outlasts the engine's ($engine_start)" test "$start" -gt "$engine_start"
check "WatchdogSec= is at least a minute, for slow machines" \
        test "$(usec "$(value WatchdogSec)")" -ge 60000000

echo "1..$n"
echo "units: $((n - failed)) passed, $failed failed"
[[ $failed -eq 0 ]]
