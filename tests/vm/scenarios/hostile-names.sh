#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Thin devices with hostile device-mapper names, on a real kernel: watched,
# on the bus under the exact name (or, for bytes that are not UTF-8, the
# documented \xNN form) and an object path that encodes every byte, in the
# journal with DM_NAME= carrying the exact bytes, removed by name when asked
# (Remove), and leaked, reported stuck, reaped with kill and removed, with
# nothing garbled and nothing left.
#
# What the kernel takes (Debian 12, kernel 6.1, dmsetup 1.02.185, measured
# with `dmsetup --manglename none create`): any bytes but '/' and NUL, 1 to
# 127 of them: blanks, a newline, a tab, control bytes, '%', '\', quotes,
# glob characters, a leading '-', bytes that are not UTF-8, even ".", ".."
# and "control". Refused: a '/' ("invalid, it contains /") and 128 bytes
# ("too long"); those are no device and so not dmwarden's problem.
# "control" is left out here: udev would point /dev/mapper/control, the node
# every later scenario's libdevmapper opens, at it.
# udev does not keep all of them as they are (its DM_NAME of "bad\x80\xff"
# is "bad__", of "trail " is "trail"): dmwardend must not trust it.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"
A=$DMWARDEN_VM_ARTIFACTS

# NAMES[i] as the kernel has it; BUS[i] as the bus says it.
# shellcheck disable=SC2016 # $(id) is a name, not to expand
NAMES=("with space" $'new\nline' "per%cent" $'bad\x80\xff' "$(printf 'y%.0s' {1..127})" "-dash"
        'back\slash' 'look\x41like' "q'uo\"te" 'gl*b?[x]' $'tab\tx' "grüß" $'\x01ctl' "trail "
        '$(id);x' "." "..")
BUS=("${NAMES[@]}")
BUS[3]='bad\x80\xff'
N=${#NAMES[@]}

# The name as systemd's JSON writes a string (busctl --json).
json_str() {
        local LC_ALL=C s=$1 out='' c i
        for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                case $c in
                '"') out+='\"' ;;
                '\') out+='\\' ;;
                $'\n') out+='\n' ;;
                $'\t') out+='\t' ;;
                *) if [[ $c < ' ' ]]; then out+=$(printf '\\u%04x' "'$c"); else out+=$c; fi ;;
                esac
        done
        printf '"%s"' "$out"
}

# sd_bus_path_encode(): every byte but [A-Za-z0-9] (and a leading digit) as _xx.
bus_path_of() {
        local out=/org/dmwarden1/device/ b first=1
        for b in $(printf '%s' "$1" | od -An -v -tx1); do
                if [[ $b =~ ^(4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a])$ ]] || { ((!first)) && [[ $b == 3[0-9] ]]; }; then
                        out+=$(printf "\\x$b")
                else
                        out+=_$b
                fi
                first=0
        done
        printf '%s' "$out"
}

hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# journal_alerts ID: the bytes (hex) of this dmwardend's alerts of that kind
# in `journalctl -o export`, into JOURNAL_HEX for journal_has_name.
journal_alerts() {
        JOURNAL_HEX=$(journalctl -b "MESSAGE_ID=$1" "_PID=$DAEMON_PID" -o export --no-pager | od -An -v -tx1 | tr -d ' \n')
}

# journal_has_name NAME: one of those alerts has DM_NAME= with exactly NAME's
# bytes: a text field is `DM_NAME=VALUE\n`; one with a newline or bytes that
# are not UTF-8 is `DM_NAME\n`, the length as 64-bit little endian, VALUE,
# `\n`. The bytes themselves, not journalctl's matching.
journal_has_name() {
        local hex len le
        hex=$(hex_of "$1")
        len=$(printf '%s' "$1" | wc -c)
        le=$(printf '%016x' "$len" | sed 's/../& /g' | awk '{ for (i = 8; i >= 1; i--) printf "%s", $i }')
        [[ $JOURNAL_HEX == *"$(hex_of 'DM_NAME=')${hex}0a"* || $JOURNAL_HEX == *"$(hex_of $'DM_NAME\n')${le}${hex}0a"* ]]
}

alerts_of_daemon() { journalctl -b "MESSAGE_ID=$1" "_PID=$DAEMON_PID" -o cat --no-pager | grep -c . || true; }

get_name_json() { busctl --json=short get-property org.dmwarden1 "$1" org.dmwarden1.Device Name; }

# Only hpool's devices are watched ([Watch] Pool=).
devices_on_bus() {
        busctl --json=short call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager ListDevices |
                grep -o '"/org/dmwarden1/device/' | wc -l
}

all_on_bus() { [[ $(devices_on_bus) == "$N" ]]; }

none_on_bus() { [[ $(devices_on_bus) == 0 ]]; }


all_gone() {
        local i
        for ((i = 0; i < N; i++)); do dm_gone "${NAMES[i]}" || return 1; done
}

all_stuck() {
        local i
        for ((i = 0; i < N; i++)); do dmwarden_device_state_is "${BUS[i]}" stuck || return 1; done
}

create_all() {
        local i
        for ((i = 0; i < N; i++)); do thin_snapshot "${NAMES[i]}"; done
}

thin_pool_create hpool
# detach frees the holders' own mounts, their cwd keeps each device: stuck,
# then reaped by name with kill.
dmwarden_start_stand_in '[Policy]' 'Action=detach' 'GraceSec=2s'
DAEMON_PID=$(systemctl show -p MainPID --value dmwarden-vm.service)

# --- watched and on the bus ---------------------------------------------------
t0=$SECONDS
create_all
for ((i = 0; i < N; i++)); do
        assert "the kernel has device $i ($(printf '%q' "${NAMES[i]}"))" dm_exists "${NAMES[i]}"
done
wait_for 120 "all $N devices on the bus" all_on_bus
timing watched "$((SECONDS - t0))"
busctl --json=short call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager ListDevices >"$A/list-devices.json"
for ((i = 0; i < N; i++)); do
        q=$(printf '%q' "${NAMES[i]}")
        path=$(dmwarden_device_path "${BUS[i]}")
        assert_eq "$path" "$(bus_path_of "${NAMES[i]}")" "object path of $q (every byte encoded)"
        assert_eq "$(get_name_json "$path")" "{\"type\":\"s\",\"data\":$(json_str "${BUS[i]}")}" "Name of $q"
        assert "ListDevices has $q with its path" grep -qF "[$(json_str "${BUS[i]}"),\"$path\",\"idle\"]" "$A/list-devices.json"
done
assert "GetDevice takes the raw bytes of a UTF-8 name too" test -n "$(dmwarden_device_path "${NAMES[0]}")"
assert_eq "$(grep -o '"/org/dmwarden1/device/[^"]*"' "$A/list-devices.json" | wc -l)" "$N" "devices in ListDevices"

# status: how many watched and leaked, values only.
status_counts() { dmwardenctl status -n -o watched,leaked | paste -sd ' '; }

dmwardenctl list >"$A/dmwardenctl-list-idle.txt" 2>"$A/dmwardenctl-list-idle.summary"
dmwardenctl list --json >"$A/dmwardenctl-list-idle.json"
dmwardenctl status >"$A/dmwardenctl-status-idle.txt"
cat "$A/dmwardenctl-list-idle.txt" "$A/dmwardenctl-list-idle.summary"
# One line a device under the header: the newline, tab and control byte
# come escaped; the count goes to stderr.
assert_eq "$(wc -l <"$A/dmwardenctl-list-idle.txt")" "$((N + 1))" "lines of dmwardenctl list"
assert "dmwardenctl list counts them on stderr" grep -qx "$N devices listed." "$A/dmwardenctl-list-idle.summary"
assert "dmwardenctl list writes the newline as \\n" grep -qF 'new\nline ' "$A/dmwardenctl-list-idle.txt"
assert "dmwardenctl list writes bytes that are not UTF-8 as \\xNN" grep -qF 'bad\x80\xff ' "$A/dmwardenctl-list-idle.txt"
for ((i = 0; i < N; i++)); do
        assert "dmwardenctl list --json has $(printf '%q' "${NAMES[i]}")" \
                grep -qF "\"name\": $(json_str "${BUS[i]}")," "$A/dmwardenctl-list-idle.json"
done
assert_eq "$(grep -c '^ *"name": ' "$A/dmwardenctl-list-idle.json")" "$N" "devices in dmwardenctl list --json"
dmwardenctl list -n -o name >"$A/dmwardenctl-list-names.txt"
assert_eq "$(wc -l <"$A/dmwardenctl-list-names.txt")" "$N" "lines of dmwardenctl list -n -o name"
assert "dmwardenctl list -n -o name keeps the blank" grep -qx 'with space' "$A/dmwardenctl-list-names.txt"
assert_eq "$(status_counts)" "$N 0" "dmwardenctl status: watched and leaked"

# --- removed by name when asked ----------------------------------------------
t0=$SECONDS
for ((i = 0; i < N; i++)); do
        assert "dmwardenctl remove $(printf '%q' "${BUS[i]}")" dmwardenctl remove -- "${BUS[i]}"
done
wait_for 120 "all $N removed" all_gone
wait_for 60 "all $N off the bus" none_on_bus
timing removed-on-request "$((SECONDS - t0))"

# --- leaked, stuck, reaped, removed -------------------------------------------
t0=$SECONDS
create_all
wait_for 120 "all $N devices on the bus again" all_on_bus
holders=() dirs=()
# One device at a time, so each holder's namespace copies its own mount only
# (a copy of every mount would make each device 17 leaks).
for ((i = 0; i < N; i++)); do
        dirs[i]=$(engine_mount "${NAMES[i]}")
        spawn_engine_cwd_holder "${dirs[i]}"
        holders[i]=$HOLDER_PID
        engine_let_go "${NAMES[i]}"
done
wait_for 300 "all $N reported stuck" all_stuck
timing leaked-to-stuck "$((SECONDS - t0))"
dmwardenctl list >"$A/dmwardenctl-list-stuck.txt"
dmwardenctl status >"$A/dmwardenctl-status-stuck.txt"
cat "$A/dmwardenctl-list-stuck.txt" "$A/dmwardenctl-status-stuck.txt"
assert_eq "$(grep -c ' stuck ' "$A/dmwardenctl-list-stuck.txt")" "$N" "stuck rows in dmwardenctl list"
assert_eq "$(status_counts)" "$N $N" "dmwardenctl status counts the leaks"
journal_alerts "$ALERT_LEAK_DETECTED"
for ((i = 0; i < N; i++)); do
        assert "the leak alert of $(printf '%q' "${NAMES[i]}") has DM_NAME= with its exact bytes" \
                journal_has_name "${NAMES[i]}"
done
journal_alerts "$ALERT_LEAK_STUCK"
for ((i = 0; i < N; i++)); do
        q=$(printf '%q' "${NAMES[i]}")
        assert "the stuck alert of $q has DM_NAME= with its exact bytes" journal_has_name "${NAMES[i]}"
        assert_eq "$(alert_count "$ALERT_LEAK_STUCK" "${NAMES[i]}")" 1 "stuck alerts of $q (journalctl DM_NAME= match)"
        assert "the holder of $q lives on (detach cannot free a cwd)" alive "${holders[i]}"
done
dmwardenctl holders -- "${BUS[1]}" >"$A/dmwardenctl-holders-newline.txt" 2>&1
dmwardenctl holders -- "${BUS[3]}" >"$A/dmwardenctl-holders-bad-utf8.txt" 2>&1
cat "$A/dmwardenctl-holders-newline.txt" "$A/dmwardenctl-holders-bad-utf8.txt"
# holders -J: the daemon's rows for the device (its holder's cwd, which
# it sees as "/"); nowhere in dmwardenctl's JSON a U+FFFD for the bytes
# that are not UTF-8 (the list above has them as \xNN).
dmwardenctl holders -J -- "${BUS[3]}" >"$A/dmwardenctl-holders-bad-utf8.json"
cat "$A/dmwardenctl-holders-bad-utf8.json"
assert "dmwardenctl holders -J names the holder" grep -qE "^ *\"pid\": ${holders[3]},\$" "$A/dmwardenctl-holders-bad-utf8.json"
refute "dmwardenctl's JSON has no U+FFFD" grep -q $'\xef\xbf\xbd' "$A/dmwardenctl-list-idle.json" \
        "$A/dmwardenctl-holders-bad-utf8.json"
assert_eq "$(alerts_of_daemon "$ALERT_LEAK_DETECTED")" "$N" "leak alerts in all (none under another name)"

t0=$SECONDS
for ((i = 0; i < N; i++)); do
        assert "dmwardenctl reap --action=kill $(printf '%q' "${BUS[i]}")" dmwardenctl reap --action=kill -- "${BUS[i]}"
done
wait_for 180 "all $N removed after the reap" all_gone
wait_for 60 "all $N off the bus after the reap" none_on_bus
timing reaped-to-removed "$((SECONDS - t0))"
journal_alerts "$ALERT_HOLDER_REAPED"
for ((i = 0; i < N; i++)); do
        q=$(printf '%q' "${NAMES[i]}")
        refute "the holder of $q is alive" alive "${holders[i]}"
        assert "the reap alert of $q has DM_NAME= with its exact bytes" journal_has_name "${NAMES[i]}"
done
journal_alerts "$ALERT_DEVICE_REMOVED"
for ((i = 0; i < N; i++)); do
        assert "the removal alert of $(printf '%q' "${NAMES[i]}") has its exact bytes" journal_has_name "${NAMES[i]}"
done
assert_eq "$(alerts_of_daemon "$ALERT_REAP_FAILED")" 0 "failed reaps"
assert_eq "$(alerts_of_daemon "$ALERT_REMOVAL_FAILED")" 0 "failed removals"
dmwardenctl status >"$A/dmwardenctl-status-end.txt"
assert_eq "$(status_counts)" "0 0" "dmwardenctl status: nothing left"
assert "dmwardend still runs" systemctl -q is-active dmwarden-vm.service
journalctl -b "_PID=$DAEMON_PID" -o export --no-pager >"$A/dmwardend-export.bin"
