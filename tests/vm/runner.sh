#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/run, started by dmwarden-vm-runner.service from the
# host's "in" share: installs the staged build, runs each scenario as a
# transient systemd unit, in order, and writes results to the "out" share.
# `runner.sh --finish` (the unit's ExecStopPost, so also after a failure or a
# timeout) saves the boot's journal. The unit then powers the machine off.
#
# out/progress.log   "EPOCH EVENT ARGS" lines the host follows live
# out/results.tsv    "IDX<TAB>NAME<TAB>STATUS<TAB>SECONDS<TAB>RESULT" per scenario
# out/timings.txt    "SCOPE WHAT SECONDS" (runner and lib.sh's timing())
# out/scenarios/NAME/output.log, out/scenarios/NAME/artifacts/
# out/journal.txt    journalctl -b, monotonic time stamps
set -euo pipefail

IN=/run/dmwarden-vm/in
OUT=/run/dmwarden-vm/out

progress() {
        printf '%s %s\n' "$(date +%s)" "$*" >>"$OUT/progress.log"
        echo "dmwarden-vm: $*"
}

timing() { echo "$*" >>"$OUT/timings.txt"; }

finish() {
        journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1 || true
        progress finished
        sync
}

# Copies the staged `meson install` tree over /. tar keeps /bin, /lib and
# /sbin as the symlinks into /usr that they are (merged /usr).
install_staging() {
        local t0=$SECONDS
        [[ -d $IN/staging ]] || return 0
        progress "install: copying the staged build over /"
        tar -C "$IN/staging" -cf - . | tar -C / -xf - --keep-directory-symlink --no-overwrite-dir
        (cd "$IN/staging" && find . ! -type d) | sed 's/^\.//' >"$OUT/installed-files.txt"
        ldconfig
        systemctl daemon-reload
        if compgen -G "$IN/staging/usr/lib/sysusers.d/*.conf" >/dev/null; then systemd-sysusers; fi
        if compgen -G "$IN/staging/usr/lib/tmpfiles.d/*.conf" >/dev/null; then systemd-tmpfiles --create; fi
        journalctl --update-catalog || true
        # dbus-daemon picks up new policy files on reload.
        systemctl reload dbus.service || true
        progress "install: $(wc -l <"$OUT/installed-files.txt") files installed"
        timing "runner install $((SECONDS - t0))"
}

# The systemd-run line that tells how the unit ended, e.g. "exit-code".
unit_result() {
        sed -n 's/^Finished with result: //p' "$1" | tail -n 1
}

run_scenario() {
        local idx=$1 name=$2 unit="dmwarden-vm-$1-$2" dir="$OUT/scenarios/$2" rc=0 t0 left why
        local script=$IN/scenarios/$idx-$name.sh
        local e setenv=()
        for e in "${scenario_env[@]}"; do setenv+=("--setenv=$e"); done
        mkdir -p "$dir/artifacts"
        : >"$dir/output.log"
        left=$((deadline - $(date +%s)))
        if ((left < 10)); then
                printf '%s\t%s\t%s\t%s\t%s\n' "$idx" "$name" 124 0 "not started: the run's deadline passed" >>"$OUT/results.tsv"
                progress "scenario-skip $idx $name (deadline passed)"
                return 0
        fi
        progress "scenario-start $idx $name (unit $unit, $left s left)"
        t0=$(date +%s)
        # Output goes straight to the share (also when the guest dies), not
        # through a pipe that a leftover background process could hold open.
        systemd-run --wait --collect --unit="$unit" --service-type=exec \
                --property=RuntimeMaxSec="$left" --property=TimeoutStopSec=20s \
                --property=StandardOutput="append:$dir/output.log" \
                --property=StandardError="append:$dir/output.log" \
                --setenv=DMWARDEN_VM_LIB="$IN/lib.sh" \
                --setenv=DMWARDEN_VM_ARTIFACTS="$dir/artifacts" \
                --setenv=DMWARDEN_VM_SCENARIO="$name" \
                --setenv=DMWARDEN_VM_TIMINGS="$OUT/timings.txt" \
                --setenv=DMWARDEN_VM_DEADLINE="$deadline" \
                "${setenv[@]}" \
                /bin/bash "$script" </dev/null 2>"$dir/systemd-run.log" || rc=$?
        cat "$dir/systemd-run.log"
        why=$(unit_result "$dir/systemd-run.log")
        case $why in
        '' | success) why="exit status $rc" ;;
        timeout) why="killed: the run's deadline passed (RuntimeMaxSec=$left)" ;;
        *) why="unit result $why, exit status $rc" ;;
        esac
        printf '%s\t%s\t%s\t%s\t%s\n' "$idx" "$name" "$rc" "$(($(date +%s) - t0))" "$why" >>"$OUT/results.tsv"
        progress "scenario-end $idx $name: $why after $(($(date +%s) - t0)) s"
}

main() {
        if [[ ${1:-} == --finish ]]; then
                finish
                return 0
        fi
        # Written by the host: deadline=EPOCH (the fallback is only a
        # backstop), and a scenario_env+=(NAME=VALUE) line for each --env.
        deadline=$(($(date +%s) + 1800))
        scenario_env=()
        # shellcheck source=/dev/null
        . "$IN/config"
        progress "runner-start uptime $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r)"
        timing "guest boot-to-runner $(cut -d. -f1 /proc/uptime)"
        install_staging
        local idx name
        while read -r idx name; do
                run_scenario "$idx" "$name"
        done <"$IN/scenarios.list"
        progress runner-done
}

main "$@"
