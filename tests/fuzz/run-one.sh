#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one fuzz target: TARGET CORPUS ARTIFACT_DIR. It fuzzes for
# $DMWARDEN_FUZZ_SECONDS (default 60) starting from the committed CORPUS
# (read only: new inputs go to a scratch directory), keeps a crashing input
# in ARTIFACT_DIR, and prints one TAP line with the figures.
set -uo pipefail

exe=$(realpath "$1")
corpus=$2
artifacts=$3
seconds=${DMWARDEN_FUZZ_SECONDS:-60}
name=$(basename "$exe")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/corpus" "$artifacts"

# -timeout: one input running 10 s is a hang; the outer timeout is for a
# fuzzer that stops answering altogether.
timeout --kill-after=30 $((seconds + 120)) "$exe" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "$scratch/corpus" "$corpus" >"$scratch/log" 2>&1
status=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/log" | tail -n1)
cov=$(grep -o 'cov: [0-9]*' "$scratch/log" | tail -n1 | cut -d' ' -f2)
if [ "$status" -eq 0 ]; then
        echo "ok 1 - $name: ${runs:-?} runs in $seconds s, cov ${cov:-?}, corpus $(ls "$corpus" | wc -l) + $(ls "$scratch/corpus" | wc -l) new"
        exit 0
fi
tail -n 60 "$scratch/log"
crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$scratch/log" | tail -n1)
echo "not ok 1 - $name: exit status $status after ${runs:-?} runs${crash:+; reproduce: $exe $crash}"
exit 1
