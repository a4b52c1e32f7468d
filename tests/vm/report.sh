# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034,SC2154
# Sourced by tests/vm/run: one TAP report over all boots, where the time
# went, and what to look at when something failed. Reads each boot's
# $run_dir/IMAGE/out (results.tsv, timings.txt, scenarios/NAME/output.log)
# and the run's at[] timestamps (keys IMAGE.EVENT).

declare -A res_rc=() res_secs=() res_why=()

read_results() {
        local img idx name rc secs why
        for img in "${booted[@]}"; do
                [[ -f $run_dir/$img/out/results.tsv ]] || continue
                while IFS=$'\t' read -r idx name rc secs why; do
                        : "$idx"
                        res_rc[$name]=$rc res_secs[$name]=$secs res_why[$name]=$why
                done <"$run_dir/$img/out/results.tsv"
        done
}

# tap_diagnostics NAME IMAGE: the end of a failed scenario's output, as TAP
# comments.
tap_diagnostics() {
        local log=$run_dir/$2/out/scenarios/$1/output.log
        [[ -s $log ]] || { echo "# (no output)"; return 0; }
        echo "# last lines of $results/$2/scenarios/$1/output.log:"
        tail -n 25 "$log" | sed 's/^/#   /'
}

print_tap() {
        local i n=${#scenario_names[@]} name img
        tap_failed=0
        echo "1..$n"
        for ((i = 0; i < n; i++)); do
                name=${scenario_names[i]} img=${scenario_images[i]}
                if [[ -z ${res_rc[$name]:-} && -n ${started[$name]:-} ]]; then
                        echo "not ok $((i + 1)) - $name [$img]: did not finish: ${vm_status[$img]:-}"
                        tap_diagnostics "$name" "$img"
                        tap_failed=1
                elif [[ -z ${res_rc[$name]:-} ]]; then
                        echo "not ok $((i + 1)) - $name [$img]: not run: ${vm_status[$img]:-}"
                        tap_failed=1
                elif [[ ${res_rc[$name]} == 0 ]]; then
                        echo "ok $((i + 1)) - $name [$img] (${res_secs[$name]} s)"
                else
                        echo "not ok $((i + 1)) - $name [$img] (${res_secs[$name]} s): ${res_why[$name]}"
                        tap_diagnostics "$name" "$img"
                        tap_failed=1
                fi
        done
}

# Time per phase: the host's clock for image, boot and shutdown, the guest's
# for what runs inside (timings.txt: "SCOPE WHAT SECONDS").
print_breakdown() {
        local img image_how scope what secs i
        for img in "${images[@]}"; do
                image_how=cached
                ((${image_built[$img]:-0})) && image_how=built
                stamp "time: image $img ${at[$img.image]:-?} s ($image_how)"
        done
        [[ -n ${at[stage]:-} ]] && stamp "time: meson install ${at[stage]} s"
        for img in "${booted[@]}"; do
                [[ -n ${at[$img.booted]:-} ]] &&
                        stamp "time: $img: boot $((at[$img.booted] - at[$img.boot_start])) s (qemu start to runner start)"
                if [[ -f $run_dir/$img/out/timings.txt ]]; then
                        while read -r scope what secs; do
                                stamp "time: $img:   $scope: $what $secs s"
                        done <"$run_dir/$img/out/timings.txt"
                fi
                for i in "${!scenario_names[@]}"; do
                        [[ ${scenario_images[i]} == "$img" && -n ${res_secs[${scenario_names[i]}]:-} ]] &&
                                stamp "time: $img: scenario ${scenario_names[i]} ${res_secs[${scenario_names[i]}]} s"
                done
                [[ -n ${at[$img.runner_done]:-} ]] &&
                        stamp "time: $img: journal and power-off $((at[$img.qemu_exit] - at[$img.runner_done])) s"
        done
        stamp "time: total $SECONDS s"
        stamp "results: $results (a directory per image)"
}

# print_vm_failure IMAGE: why that boot failed, with the end of its serial
# console.
print_vm_failure() {
        local dir=$run_dir/$1
        stamp "VM FAILURE ($1): ${vm_status[$1]}"
        if [[ -s $dir/qemu.log ]]; then
                echo "--- qemu's output ---" >&2
                tail -n 20 "$dir/qemu.log" >&2
        fi
        echo "--- last 60 lines of the serial console ($results/$1/serial.log) ---" >&2
        tail -n 60 "$dir/serial.log" >&2 2>/dev/null || echo "(no serial output)" >&2
        echo "--- end of serial console ---" >&2
}

report() {
        local img vm_failed=0
        read_results
        print_tap
        print_breakdown
        for img in "${images[@]}"; do
                [[ ${vm_status[$img]:-} == ok ]] && continue
                vm_failed=1
                print_vm_failure "$img"
        done
        if ((tap_failed || vm_failed)); then
                stamp "FAILED"
                return 1
        fi
        stamp "all ${#scenario_names[@]} scenario(s) passed"
}
