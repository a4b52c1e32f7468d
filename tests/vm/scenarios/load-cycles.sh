#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Load: many leak cycles, and dmwardend ends them as it started.
# On the stand-in engine (a thin pool of our own, `sleep` as the engine, no
# Docker), under Action=kill, LOAD_BATCH devices a round: each is made,
# mounted in the engine namespace, held from a mount namespace made from
# the engine's, let go, found leaked, its holder reaped, and removed. Odd
# devices are held by a cwd (the mount is detached, then the holder is
# killed), even ones by a bind mount of the holder's own (detached; the
# holder lives on). After a warm-up round, LOAD_CYCLES such cycles must
#  - give each device exactly one leak alert, a holder-reaped alert and a
#    removal alert, and no reap-failed, stuck or removal-failed alert;
#  - leave dmwardend with exactly the fds it had after the warm-up, and
#    resident memory that does not grow with the cycles (see rss_check).
# Figures: artifacts/load-cycles.txt, every round's sample in
# load-samples.tsv, each device's latencies in load-latency.tsv.
#
# The default fits CI (about 3 minutes); the measured run in docs/reliability.md is
#     tests/vm/run --build-dir build --timeout 3000 --env LOAD_CYCLES=500 \
#             tests/vm/scenarios/load-cycles.sh
set -euo pipefail
export LC_ALL=C  # sort and join agree on the order of names
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

cycles=${LOAD_CYCLES:-40}
batch=${LOAD_BATCH:-10}
# Growth of the daemon's anonymous memory (its heap) allowed from the
# warm-up to the end, and from half-way to the end; see rss_check.
rss_slack_kib=${LOAD_RSS_SLACK_KIB:-384}
rss_half_slack_kib=${LOAD_RSS_HALF_SLACK_KIB:-64}
for v in cycles batch rss_slack_kib rss_half_slack_kib; do
        [[ ${!v} =~ ^[0-9]+$ ]] || fail "$v must be a number, not '${!v}'"
done
((cycles >= batch && batch >= 1)) || fail "need LOAD_CYCLES >= LOAD_BATCH >= 1"

art=$DMWARDEN_VM_ARTIFACTS
samples=$art/load-samples.tsv
letgo_file=$art/load-letgo.tsv
: >"$letgo_file"
printf 'label\tcycles\tseconds\tfds\tvmrss_kib\trssanon_kib\n' >"$samples"

thin_pool_create lpool
dmwarden_start_stand_in '[Policy]' 'Action=kill' 'GraceSec=5s'
unit=dmwarden-vm.service
pid=$(systemctl show -p MainPID --value "$unit")
[[ $(cat "/proc/$pid/comm") == dmwardend ]] || fail "$unit's main process $pid is not dmwardend"

# --- measuring ----------------------------------------------------------------

# shellcheck disable=SC2012 # fd names are numbers
fd_count() { ls "/proc/$pid/fd" | wc -l; }
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
manager_property() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | cut -d' ' -f2
}

# sample LABEL: one line of samples.tsv; sets FDS, RSS, ANON.
done_cycles=0
sample() {
        FDS=$(fd_count)
        RSS=$(status_kib VmRSS)
        ANON=$(status_kib RssAnon)
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$done_cycles" "$SECONDS" "$FDS" "$RSS" "$ANON" >>"$samples"
}

# --- one round ------------------------------------------------------------------

round_pids=()  # the current round's holders, killed if the scenario ends early
# shellcheck disable=SC2016 # expanded when the scenario exits
defer 'kill "${round_pids[@]}" 2>/dev/null || true'

# spawn_holder DIR cwd|bind OTHER...: a `sleep` in a mount namespace
# unshared from the engine's, holding the device mounted on DIR by its cwd
# there, or by a bind mount of DIR on /mnt/x. The namespace starts with a
# copy of every mount the engine has; the OTHER devices' mount points are
# unmounted in it first, so each device has exactly one holder. It only
# becomes `sleep` once all that worked. Sets HOLDER_PID.
spawn_holder() {
        local script
        # shellcheck disable=SC2016 # $1 and $2 are for the inner shell
        script='dir=$1 kind=$2; shift 2
                [ $# -eq 0 ] || umount -l "$@" || exit
                if [ "$kind" = cwd ]; then cd "$dir"
                else mount -t tmpfs holder /mnt && mkdir /mnt/x && mount --bind "$dir" /mnt/x; fi &&
                exec sleep 86400'
        nsenter --mount=/run/dmwarden/engine.mnt unshare --mount --propagation private \
                sh -c "$script" holder "$@" </dev/null >/dev/null 2>&1 &
        HOLDER_PID=$!
}

# Under TCG every process costs a good part of a second on a busy host, so
# the checks made per device and per poll read /proc and /sys with shell
# builtins.

# DM_DEV[name]=MAJ:MIN of every device-mapper device now.
declare -A DM_DEV
dm_scan() {
        local d n dev
        DM_DEV=()
        for d in /sys/block/dm-*; do
                { read -r n <"$d/dm/name" && read -r dev <"$d/dev" && DM_DEV[$n]=$dev; } 2>/dev/null || true
        done
}
all_gone() {
        local n
        dm_scan
        for n; do [[ -z ${DM_DEV[$n]:-} ]] || return 1; done
}
# lives PID: it exists and is no zombie (a zombie holds nothing).
lives() {
        local stat=''
        { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
        stat=${stat##*) }
        [[ ${stat:0:1} != Z ]]
}
is_sleep() {
        local comm=''
        { read -r comm <"/proc/$1/comm"; } 2>/dev/null || return 1
        [[ $comm == sleep ]]
}
all_sleep() { local p; for p; do is_sleep "$p" || return 1; done; }
none_alive() { local p; for p; do ! lives "$p" || return 1; done; }
# in_mounts PID MAJ:MIN: the process's mount table has that device.
in_mounts() {
        local _ dev rest
        while read -r _ _ dev rest; do [[ $dev != "$2" ]] || return 0; done <"/proc/$1/mountinfo"
        return 1
}
daemon_forgot_all() { [[ $(manager_property WatchedDevices) == 0 ]]; }

# seconds USEC_FROM [USEC_TO]: the time between (to: now), "12.3".
seconds() {
        local d=$((${2:-${EPOCHREALTIME/./}} - $1))
        printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10))
}

# round LABEL COUNT: COUNT devices named load-LABEL-K through a whole leak
# cycle together, checked device by device. What the engine does is done
# for all of them in one command where it can be (dmsetup create side by
# side, one nsenter for the mounts, one for the unmounts, one dmsetup
# remove); the daemon's side is what is measured.
round() {
        local label=$1 count=$2 k since_epoch=$EPOCHSECONDS
        local t0=${EPOCHREALTIME/./} t_created t_mounted t_held t_removed
        local names=() ids=() dirs=() kinds=() majmins=() pids=() others=() cwd_pids=() bind_pids=() creates=()
        for ((k = 1; k <= count; k++)); do
                names+=("load-$label-$k")
                dirs+=("/run/thin-engine/load-$label-$k")
                ids+=("$THIN_NEXT_ID")
                dmsetup message "$THIN_POOL" 0 "create_snap $((THIN_NEXT_ID++)) 0"
                if ((k % 2)); then kinds+=(cwd); else kinds+=(bind); fi
        done
        for ((k = 0; k < count; k++)); do
                dmsetup create "${names[k]}" --table "0 2097152 thin /dev/mapper/$THIN_POOL ${ids[k]}" &
                creates+=("$!")
        done
        wait_all "round $label: dmsetup create" "${creates[@]}"
        t_created=${EPOCHREALTIME/./}
        # shellcheck disable=SC2016 # $@ is for the inner shell
        engine_do sh -c 'mkdir -p "$@" && for d; do mount "/dev/mapper/${d##*/}" "$d" || exit; done' \
                mount "${dirs[@]}"
        t_mounted=${EPOCHREALTIME/./}
        dm_scan
        for ((k = 0; k < count; k++)); do
                majmins+=("${DM_DEV[${names[k]}]:?}")
                others=("${dirs[@]:0:k}" "${dirs[@]:k+1}")
                spawn_holder "${dirs[k]}" "${kinds[k]}" "${others[@]}"
                pids+=("$HOLDER_PID")
                if [[ ${kinds[k]} == cwd ]]; then cwd_pids+=("$HOLDER_PID"); else bind_pids+=("$HOLDER_PID"); fi
        done
        round_pids=("${pids[@]}")
        wait_for 120 "round $label: $count holders to be set up" all_sleep "${pids[@]}"
        for ((k = 0; k < count; k++)); do
                if [[ ${kinds[k]} == cwd ]]; then
                        [[ $(readlink "/proc/${pids[k]}/cwd") == "${dirs[k]}" ]] ||
                                fail "holder ${pids[k]} of ${names[k]} is not in ${dirs[k]}"
                else
                        in_mounts "${pids[k]}" "${majmins[k]}" ||
                                fail "holder ${pids[k]} of ${names[k]} does not mount it"
                fi
        done
        t_held=${EPOCHREALTIME/./}

        # What dockerd does at `docker rm`: unmount, then deferred removal.
        printf '%s\t'"$(now_usec)"'\n' "${names[@]}" >>"$letgo_file"
        engine_do umount "${dirs[@]}"
        dmsetup remove --deferred "${names[@]}"
        wait_for 300 "round $label: $count devices to be removed" all_gone "${names[@]}"
        t_removed=${EPOCHREALTIME/./}

        wait_for 60 "round $label: the cwd holders to be killed" none_alive "${cwd_pids[@]}"
        for ((k = 0; k < count; k++)); do
                [[ ${kinds[k]} == bind ]] || continue
                lives "${pids[k]}" || fail "bind holder ${pids[k]} of ${names[k]} died; only its mount was to go"
                ! in_mounts "${pids[k]}" "${majmins[k]}" ||
                        fail "bind holder ${pids[k]} of ${names[k]} still mounts it"
        done
        # The engine's part after a removal: the thin volume is deleted, so
        # the pool never fills. The bind holders have done their part.
        kill "${bind_pids[@]}" 2>/dev/null || true
        wait_for 60 "round $label: the bind holders to exit" none_alive "${bind_pids[@]}"
        wait "${pids[@]}" 2>/dev/null || true
        # shellcheck disable=SC2034 # read by the deferred kill
        round_pids=()
        for ((k = 0; k < count; k++)); do
                dmsetup message "$THIN_POOL" 0 "delete ${ids[k]}"
        done
        engine_do rmdir "${dirs[@]}"
        wait_for 60 "round $label: dmwardend to let its devices go" daemon_forgot_all
        check_alerts "$label" "$since_epoch" "${names[@]}"
        log "round $label: $count cycles in $(seconds "$t0") s: create $(seconds "$t0" "$t_created")," \
                "mount $(seconds "$t_created" "$t_mounted"), holders $(seconds "$t_mounted" "$t_held")," \
                "let go to removed $(seconds "$t_held" "$t_removed"), checks $(seconds "$t_removed")"
}

# wait_all WHAT PID...: wait for these background jobs; fail if one failed.
wait_all() {
        local what=$1 p rc=0
        shift
        for p; do wait "$p" || rc=$?; done
        ((rc == 0)) || fail "$what failed (status $rc)"
}

# --- alerts ---------------------------------------------------------------------

# load_alerts SINCE: N_ALERT["KIND NAME"] = how many alerts of that kind
# (leak, reaped, removed, bad: reap failed, stuck or removal failed) each
# device had since the epoch SINCE (0: this boot), from one journalctl.
declare -A N_ALERT
load_alerts() {
        local id name kind since_opt=()
        ((${1:-0} == 0)) || since_opt=(--since "@$(($1 - 1))")
        N_ALERT=()
        while read -r id name; do
                case $id in
                "$ALERT_LEAK_DETECTED") kind=leak ;;
                "$ALERT_HOLDER_REAPED") kind=reaped ;;
                "$ALERT_DEVICE_REMOVED") kind=removed ;;
                *) kind=bad ;;
                esac
                N_ALERT[$kind $name]=$((${N_ALERT[$kind $name]:-0} + 1))
        done < <(journalctl -b "${since_opt[@]}" -o export --output-fields=MESSAGE_ID,DM_NAME --no-pager \
                "MESSAGE_ID=$ALERT_LEAK_DETECTED" "MESSAGE_ID=$ALERT_HOLDER_REAPED" \
                "MESSAGE_ID=$ALERT_DEVICE_REMOVED" "MESSAGE_ID=$ALERT_REAP_FAILED" \
                "MESSAGE_ID=$ALERT_LEAK_STUCK" "MESSAGE_ID=$ALERT_REMOVAL_FAILED" 2>/dev/null |
                awk '/^MESSAGE_ID=/ { i = substr($0, 12) }
                     /^DM_NAME=/ { n = substr($0, 9) }
                     /^$/ { if (n != "") print i, n; i = n = "" }
                     END { if (n != "") print i, n }')
}

removal_alerts_for() {
        local since=$1 n
        shift
        load_alerts "$since"
        for n; do ((${N_ALERT[removed $n]:-0} >= 1)) || return 1; done
}

# check_alerts LABEL SINCE NAME...: each device's alerts since SINCE.
check_alerts() {
        local label=$1 since=$2 key n
        shift 2
        # The removal alert may come after device-mapper says it is gone.
        wait_for 60 "round $label: a removal alert for each device" removal_alerts_for "$since" "$@"
        for n; do
                ((${N_ALERT[leak $n]:-0} == 1)) || fail "$n had ${N_ALERT[leak $n]:-0} leak alerts, not 1"
                ((${N_ALERT[reaped $n]:-0} >= 1)) || fail "$n had no holder-reaped alert"
        done
        for key in "${!N_ALERT[@]}"; do
                [[ $key != "bad load-"* ]] || fail "${key#bad } had a reap-failed, stuck or removal-failed alert"
        done
}

# --- the run ----------------------------------------------------------------------

t_start=$SECONDS
round w "$batch"
sample start
start_fds=$FDS start_rss=$RSS start_anon=$ANON
log "after a warm-up round of $batch: $FDS fds, VmRSS $RSS KiB, RssAnon $ANON KiB"

rounds=$(((cycles + batch - 1) / batch))
half_round=$(((rounds + 1) / 2))
report_every=$(((rounds + 9) / 10))
t_cycles=$SECONDS
for ((r = 1; r <= rounds; r++)); do
        count=$((cycles - done_cycles < batch ? cycles - done_cycles : batch))
        round "$r" "$count"
        done_cycles=$((done_cycles + count))
        sample "round-$r"
        if ((r == half_round)); then
                mid_fds=$FDS mid_rss=$RSS mid_anon=$ANON mid_cycles=$done_cycles
        fi
        if ((r % report_every == 0 || r == half_round)); then
                log "after $done_cycles cycles: $FDS fds, VmRSS $RSS KiB, RssAnon $ANON KiB"
        fi
done
cycles_seconds=$((SECONDS - t_cycles))
timing "$cycles-cycles" "$cycles_seconds"
sample end
end_fds=$FDS end_rss=$RSS end_anon=$ANON

# Every device of the run, warm-up included, once more over the whole journal.
total=$((cycles + batch))
load_alerts 0
leaked_names=0
for key in "${!N_ALERT[@]}"; do
        [[ $key == "leak load-"* ]] || continue
        ((N_ALERT[$key] == 1)) || fail "${key#leak } had ${N_ALERT[$key]} leak alerts, not 1"
        leaked_names=$((leaked_names + 1))
done
assert_eq "$leaked_names" "$total" "devices with exactly one leak alert"
assert_eq "$(manager_property LeakedDevices)" 0 "dmwardend's leaked devices at the end"

# Latencies from each device's let-go to its leak alert and to its removal.
alert_usecs() {
        journalctl -b "MESSAGE_ID=$1" -o export --no-pager 2>/dev/null | awk '
                /^__REALTIME_TIMESTAMP=/ { t = substr($0, 22) }
                /^DM_NAME=/ { n = substr($0, 9) }
                /^$/ { if (n != "") print n "\t" t; n = "" }
                END { if (n != "") print n "\t" t }'
}
alert_usecs "$ALERT_LEAK_DETECTED" | sort >"$art/load-leak-alerts.tsv"
alert_usecs "$ALERT_DEVICE_REMOVED" | sort >"$art/load-removed-alerts.tsv"
sort "$letgo_file" | join -t $'\t' - "$art/load-leak-alerts.tsv" | join -t $'\t' - "$art/load-removed-alerts.tsv" |
        awk -F'\t' '{ printf "%s\t%d\t%d\n", $1, ($3 - $2) / 1000, ($4 - $2) / 1000 }' >"$art/load-latency.tsv"
# percentile FILE COLUMN P: the P-th percentile (nearest rank) of a column.
percentile() {
        cut -f "$2" "$1" | sort -n | awk -v p="$3" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); print v[i < 1 ? 1 : i] }'
}
lat=$art/load-latency.tsv
latency="let-go to leak alert: median $(percentile "$lat" 2 50) ms, p95 $(percentile "$lat" 2 95) ms, max $(percentile "$lat" 2 100) ms; let-go to removal alert: median $(percentile "$lat" 3 50) ms, p95 $(percentile "$lat" 3 95) ms, max $(percentile "$lat" 3 100) ms"
log "$latency"

{
        echo "cycles=$cycles batch=$batch warmup=$batch total_devices=$total"
        echo "seconds_for_cycles=$cycles_seconds seconds_total=$((SECONDS - t_start))"
        echo "fds start=$start_fds mid=$mid_fds end=$end_fds"
        echo "vmrss_kib start=$start_rss mid=$mid_rss end=$end_rss"
        echo "rssanon_kib start=$start_anon mid=$mid_anon end=$end_anon (mid after $mid_cycles cycles)"
        echo "holders_reaped=$(manager_property HoldersReaped) devices_removed=$(manager_property DevicesRemoved)"
        echo "$latency"
} | tee "$art/load-cycles.txt" | while read -r line; do log "$line"; done

# fds: exact. Nothing runs at this point (every device gone, no holder
# left), so any fd more than after the warm-up is one a cycle left behind.
assert_eq "$end_fds" "$start_fds" "dmwardend's fd count after $cycles cycles"

# Memory: RssAnon is the daemon's heap and stacks, where a leak shows;
# VmRSS adds file pages (code first run, or reclaimed). Measured, it is not
# back at the warm-up's value: it grows by about 100-170 KiB over the first
# 100-150 cycles (glibc keeps freed pages, fragments, and raises its mmap
# threshold) and then stays flat: 688-692 KiB from cycle 150 to 500 of the
# measured run. The heap itself (bytes in use) comes back exactly: the
# privileged test reap/leak_cycles_leave_the_heap_as_they_found_it. So the
# checks here bound the growth: from the warm-up to the end within
# rss_slack_kib, and from half-way to the end within rss_half_slack_kib,
# which is what a leak cannot pass, since it grows with every cycle: at 500
# cycles it catches one of rss_half_slack_kib * 1024 / 250 bytes a cycle
# (262 at the default 64 KiB); at CI's 40, of about 3 KiB a cycle.
rss_check() {
        local what=$1 from=$2 to=$3 slack=$4
        (( to - from <= slack )) || fail "dmwardend's $what grew by $((to - from)) KiB, more than $slack KiB"
        log "ok: dmwardend's $what grew by $((to - from)) KiB (at most $slack KiB)"
}
rss_check "RssAnon from the warm-up to the end" "$start_anon" "$end_anon" "$rss_slack_kib"
rss_check "RssAnon from half-way to the end" "$mid_anon" "$end_anon" "$rss_half_slack_kib"
rss_check "VmRSS from the warm-up to the end" "$start_rss" "$end_rss" "$((rss_slack_kib * 2))"
