#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-fuzzer.sh — one libFuzzer harness: the committed reproducers must pass, then fuzz for a
# bounded time from the committed seed corpus and report the number of executions and when coverage
# last grew.
#
# Usage: run-fuzzer.sh FUZZER FUZZ_SRCDIR NAME [LIBFUZZER_OPTIONS...]
# Environment: AIM_FUZZ_SECONDS (default 30), AIM_FUZZ_RUNS (stop after this many executions
# instead, e.g. 10000000 for a long run), AIM_FUZZ_KEEP (a directory to keep new corpus entries in).
# A crash leaves its input in the working directory printed and fails; commit it under
# reproducers/NAME/ once the bug is fixed.
set -euo pipefail
fuzzer=$1 src=$2 name=$3; shift 3

work=$(mktemp -d "${TMPDIR:-/tmp}/aim-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT

shopt -s nullglob
repro=("$src/reproducers/$name"/*)
if [ ${#repro[@]} -gt 0 ]; then
        "$fuzzer" "$@" "${repro[@]}" >"$work/repro.log" 2>&1 || { cat "$work/repro.log"; echo "FAIL: a reproducer crashes fuzz-$name again"; exit 1; }
        echo "ok - ${#repro[@]} reproducers of fuzz-$name pass"
fi

mkdir -p "$work/corpus" "$work/crash"
limit=(-max_total_time="${AIM_FUZZ_SECONDS:-30}")
[ -n "${AIM_FUZZ_RUNS:-}" ] && limit=(-runs="$AIM_FUZZ_RUNS")
rc=0
"$fuzzer" "$@" "${limit[@]}" -print_final_stats=1 -artifact_prefix="$work/crash/" \
        "$work/corpus" "$src/corpus/$name" >"$work/fuzz.log" 2>&1 || rc=$?
[ -n "${AIM_FUZZ_KEEP:-}" ] && { mkdir -p "$AIM_FUZZ_KEEP"; cp -a "$work/corpus/." "$AIM_FUZZ_KEEP/"; }
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log")
if [ $rc -ne 0 ]; then
        tail -n 60 "$work/fuzz.log"
        for f in "$work"/crash/*; do
                echo "--- crashing input ($f), base64:"
                base64 "$f"
        done
        echo "FAIL: fuzz-$name found a crash (exit $rc) after ${execs:-?} executions"
        exit 1
fi
# When coverage last grew (libFuzzer's "#N<TAB>NEW cov: C ..." lines): what a shorter or longer run
# would gain or lose.
grew=$(sed -n 's/^#\([0-9]*\)\tNEW .*cov: \([0-9]*\) ft: \([0-9]*\).*/coverage last grew at execution \1 (cov \2, ft \3)/p' \
        "$work/fuzz.log" | tail -n 1)
echo "ok - fuzz-$name: ${execs:-?} executions (${secs:-?}/s), corpus $(ls "$work/corpus" | wc -l) new + $(ls "$src/corpus/$name" | wc -l) seeds; ${grew:-no coverage past the seeds}"
