#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: trixie
# Pool space and the metrics, on a small pool: a leaked device (its cwd
# held from the engine namespace, Action=report so it stays) that wrote
# 40 MiB fills a 64 MiB pool past WarnPercent=50: the pool fill alert
# names the leak and what it holds; the leak alert says its bytes; and
# node_exporter's textfile collector serves dmwarden.prom, in which
# `curl localhost:9100/metrics` sees the stuck device counted and its
# bytes, back to zero once the holder goes and the device is removed.
# promtool (the host's, copied in by tests/vm/run) checks dmwarden's
# metrics as node_exporter serves them; the scrape is kept as
# artifacts/scrape-leak.txt.
set -euo pipefail
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

pool=mpool
scrape=$DMWARDEN_VM_ARTIFACTS/scrape.txt

# A thin pool of 64 MiB of data in 64 KiB blocks, with thin 0 made ext4
# (256 MiB virtual) as the base of the snapshot.
small_pool_create() {
        local work meta data
        work=$(mktemp -d "/var/tmp/$pool.XXXXXX")
        truncate -s 16M "$work/meta" && truncate -s 64M "$work/data"
        meta=$(losetup -f --show "$work/meta")
        data=$(losetup -f --show "$work/data")
        dmsetup create "$pool" --table "0 $((64 * 1024 * 2)) thin-pool $meta $data 128 0"
        defer "_thin_pool_destroy $pool $meta $data $work"
        dmsetup message "$pool" 0 "create_thin 0"
        dmsetup create "$pool-base" --table "0 524288 thin /dev/mapper/$pool 0"
        mkfs.ext4 -q -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "/dev/mapper/$pool-base"
        dmsetup remove --retry "$pool-base"
        THIN_POOL=$pool
        THIN_NEXT_ID=1
}

metrics() { curl -sf localhost:9100/metrics >"$scrape.new" && mv "$scrape.new" "$scrape"; }
metric_is() { metrics && grep -qxF "$1 $2" "$scrape"; }
# node_exporter writes big values as floats (5.2559872e+07): as integers.
metric_value() { awk -v m="$1" '$1 == m { printf "%.0f\n", $2 }' "$scrape"; }

systemctl start prometheus-node-exporter.service
wait_for 60 "node_exporter on :9100" metrics
small_pool_create
dmwarden_start_stand_in '[Policy]' 'Action=report' '[Pool]' 'RefreshSec=2s' 'WarnPercent=50' \
        '[Metrics]' 'TextfileDirectory=/var/lib/prometheus/node-exporter'
wait_for 60 "dmwarden's metrics scraped" metric_is 'dmwarden_leaked_bytes' 0

thin_snapshot leaky
dir=$(engine_mount leaky)
wait_for 60 "leaky active" dmwarden_device_state_is leaky active
spawn_engine_cwd_holder "$dir"
holder=$HOLDER_PID
engine_let_go leaky
wait_for 60 "leaky's leak alert" alert_seen "$ALERT_LEAK_DETECTED" leaky
[[ -n $(alert_field "$ALERT_LEAK_DETECTED" leaky DM_MAPPED_BYTES) ]] || fail "the leak alert has no DM_MAPPED_BYTES"
journalctl -b "MESSAGE_ID=$ALERT_LEAK_DETECTED" DM_NAME=leaky -o cat | grep -q "It holds .* of pool $pool\." ||
        fail "the leak alert does not say what it holds"
log "leak alert: $(journalctl -b "MESSAGE_ID=$ALERT_LEAK_DETECTED" DM_NAME=leaky -o cat | tail -n 1)"

# The leaked device grows through its holder's cwd (the mount is
# detached from every table) until the pool is past 50%.
dd if=/dev/urandom of="/proc/$holder/cwd/fill" bs=1M count=40 conv=fsync status=none
wait_for 60 "the pool fill alert" alert_seen "$ALERT_POOL_FILL" "$pool"
# The pool crosses 50% while the write goes on: the alert tells what the
# leak held then (more than it held at the leak alert), the scrape below
# what it holds once the write is done.
leaked=$(alert_field "$ALERT_POOL_FILL" "$pool" LEAKED_BYTES)
((leaked > 1024 * 1024)) || fail "the pool alert says leaked devices hold $leaked bytes, no more than before the write"
alert_field "$ALERT_POOL_FILL" "$pool" LEAKED_DEVICES | grep -q '^leaky (' ||
        fail "the pool alert does not name leaky"
assert_eq "$(alert_count "$ALERT_POOL_FILL" "$pool")" 1 "pool fill alerts"
log "pool alert: $(journalctl -b "MESSAGE_ID=$ALERT_POOL_FILL" -o cat | tail -n 1)"

wait_for 60 "the stuck device in the scrape" metric_is 'dmwarden_devices{state="stuck"}' 1
metrics
mapped=$(metric_value 'dmwarden_leaked_bytes')
((mapped >= 40 * 1024 * 1024)) || fail "the scrape says $mapped leaked bytes, less than the 40 MiB written"
assert_eq "$(metric_value "dmwarden_pool_leaked_bytes{pool=\"$pool\"}")" "$mapped" "the pool's leaked bytes"
assert_eq "$(metric_value "dmwarden_pool_data_size_bytes{pool=\"$pool\"}")" $((64 * 1024 * 1024)) "the pool's size"
assert_eq "$(metric_value 'dmwarden_leaks_detected_total')" 1 "leaks detected"
cp "$scrape" "$DMWARDEN_VM_ARTIFACTS/scrape-leak.txt"
[[ -x $VM_TOOLS/promtool ]] || fail "no promtool in $VM_TOOLS (install prometheus on the host)"
grep -E '^(# (HELP|TYPE) )?dmwarden_' "$scrape" >"$DMWARDEN_VM_ARTIFACTS/scrape-dmwarden.txt"
"$VM_TOOLS/promtool" check metrics <"$DMWARDEN_VM_ARTIFACTS/scrape-dmwarden.txt" ||
        fail "promtool check metrics finds fault with dmwarden's metrics as node_exporter serves them"
log "scrape: stuck 1, $mapped leaked bytes"
dmwardenctl status | tee "$DMWARDEN_VM_ARTIFACTS/status.txt" >/dev/null
fill=$(dmwardenctl status -n -o pools)
log "dmwardenctl status -n -o pools: $fill"
[[ $fill == *"$pool data "*"% of 67108864, metadata "* ]] || fail "dmwardenctl status shows no fill of $pool: $fill"

kill "$holder"
wait_for 60 "leaky removed" alert_seen "$ALERT_DEVICE_REMOVED" leaky
wait_for 30 "no stuck device in the scrape" metric_is 'dmwarden_devices{state="stuck"}' 0
wait_for 30 "no leaked bytes in the scrape" metric_is 'dmwarden_leaked_bytes' 0
assert_eq "$(metric_value "dmwarden_pool_leaked_bytes{pool=\"$pool\"}")" 0 "the pool's leaked bytes after removal"
assert_eq "$(metric_value 'dmwarden_devices_removed_total')" 1 "devices removed"
log "after removal: stuck 0, leaked bytes 0"
