# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034,SC2154
# Sourced by tests/vm/run: TAP lines, where the time went, and what to look
# at when something failed. Reads $run_dir/out (results.tsv, timings.txt,
# scenarios/NAME/output.log) and the run's at[] timestamps.

declare -A res_rc=() res_secs=() res_why=()

read_results() {
        local idx name rc secs why
        [[ -f $run_dir/out/results.tsv ]] || return 0
        while IFS=$'\t' read -r idx name rc secs why; do
                : "$idx"
                res_rc[$name]=$rc res_secs[$name]=$secs res_why[$name]=$why
        done <"$run_dir/out/results.tsv"
}

# The end of a failed scenario's output, as TAP comments.
tap_diagnostics() {
        local log=$run_dir/out/scenarios/$1/output.log
        [[ -s $log ]] || { echo "# (no output)"; return 0; }
        echo "# last lines of $results/scenarios/$1/output.log:"
        tail -n 25 "$log" | sed 's/^/#   /'
}

print_tap() {
        local i n=${#scenario_names[@]} name
        tap_failed=0
        echo "1..$n"
        for ((i = 0; i < n; i++)); do
                name=${scenario_names[i]}
                if [[ -z ${res_rc[$name]:-} && -n ${started[$name]:-} ]]; then
                        echo "not ok $((i + 1)) - $name: did not finish: $vm_status"
                        tap_diagnostics "$name"
                        tap_failed=1
                elif [[ -z ${res_rc[$name]:-} ]]; then
                        echo "not ok $((i + 1)) - $name: not run: $vm_status"
                        tap_failed=1
                elif [[ ${res_rc[$name]} == 0 ]]; then
                        echo "ok $((i + 1)) - $name (${res_secs[$name]} s)"
                else
                        echo "not ok $((i + 1)) - $name (${res_secs[$name]} s): ${res_why[$name]}"
                        tap_diagnostics "$name"
                        tap_failed=1
                fi
        done
}

# Time per phase: the host's clock for image, boot and shutdown, the guest's
# for what runs inside (timings.txt: "SCOPE WHAT SECONDS").
print_breakdown() {
        local image_how=cached scope what secs name
        ((IMAGE_BUILD_SECONDS)) && image_how=built
        stamp "time: image ${at[image]} s ($image_how)"
        [[ -n ${at[stage]:-} ]] && stamp "time: meson install ${at[stage]} s"
        [[ -n ${at[booted]:-} ]] && stamp "time: boot $((at[booted] - at[boot_start])) s (qemu start to runner start)"
        if [[ -f $run_dir/out/timings.txt ]]; then
                while read -r scope what secs; do
                        stamp "time:   $scope: $what $secs s"
                done <"$run_dir/out/timings.txt"
        fi
        for name in "${scenario_names[@]}"; do
                [[ -n ${res_secs[$name]:-} ]] && stamp "time: scenario $name ${res_secs[$name]} s"
        done
        [[ -n ${at[runner_done]:-} ]] &&
                stamp "time: journal and power-off $((at[qemu_exit] - at[runner_done])) s"
        stamp "time: total $SECONDS s"
        stamp "results: $results"
}

# Why the VM itself failed, with the end of its serial console.
print_vm_failure() {
        stamp "VM FAILURE: $vm_status"
        if [[ -s $run_dir/qemu.log ]]; then
                echo "--- qemu's output ---" >&2
                tail -n 20 "$run_dir/qemu.log" >&2
        fi
        echo "--- last 60 lines of the serial console ($results/serial.log) ---" >&2
        tail -n 60 "$run_dir/serial.log" >&2 2>/dev/null || echo "(no serial output)" >&2
        echo "--- end of serial console ---" >&2
}

report() {
        read_results
        print_tap
        print_breakdown
        [[ $vm_status == ok ]] || print_vm_failure
        if ((tap_failed)) || [[ $vm_status != ok ]]; then
                stamp "FAILED"
                return 1
        fi
        stamp "all ${#scenario_names[@]} scenario(s) passed"
}
