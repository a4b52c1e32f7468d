#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many at once: 10 containers leaked together (a pinned holder each), under
# Action=kill: every device gets exactly one leak alert and is removed.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

n=10
dmwarden_start_engine '[Policy]' 'Action=kill' 'GraceSec=5s'
devs=() holders=()
t0=$SECONDS
docker_import_busybox
# Five `docker run` at a time: dockerd works on them side by side.
for i in $(seq 1 "$n"); do
        docker run -d --name "many$i" --network none "$VM_BUSYBOX_IMAGE" sleep 86400 >/dev/null &
        ((i % 5)) || wait
done
wait
for i in $(seq 1 "$n"); do
        wait_for 120 "container many$i to run" container_running "many$i"
        devs+=("$(container_thin_device "many$i")")
        spawn_engine_cwd_holder "$(container_mount_point "many$i")/rootfs"
        holders+=("$HOLDER_PID")
done
timing start-$n-containers "$((SECONDS - t0))"

rm_usec=$(now_usec)
docker rm -f $(seq -f 'many%g' 1 "$n") >/dev/null
all_removed() {
        local d
        for d in "${devs[@]}"; do dm_gone "$d" || return 1; done
}
wait_for 600 "all $n devices to be removed" all_removed
last=0
for d in "${devs[@]}"; do
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$d")" 1 "leak alerts for $d"
        wait_for 60 "the removal alert for $d" alert_seen "$ALERT_DEVICE_REMOVED" "$d"
        u=$(alert_usec "$ALERT_DEVICE_REMOVED" "$d")
        ((u > last)) && last=$u
done
for h in "${holders[@]}"; do
        refute "holder $h was ended" alive "$h"
done
log "docker rm of $n containers to the last removal: $(ms_between "$rm_usec" "$last") ms"
