#!/usr/bin/env bash
# Runs fuzz targets one after another, each to RUNS executions (default
# 1,000,000), from the committed seeds in corpus/<target>. What libFuzzer
# adds goes to scratch/<target> (ignored by git), so the committed corpus
# stays the small hand-made one. Installs nightly and cargo-fuzz if missing.
#
#   fuzz/run.sh                  every target
#   fuzz/run.sh set_cookie       one target
#   RUNS=10000 fuzz/run.sh       a quick pass
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-1000000}
TARGETS=(token_response device_authorization set_cookie jwk_import pem_import
         jwt_decode acp_steps endpoint redactor excerpt_folding)
[ $# -gt 0 ] && TARGETS=("$@")

rustup toolchain list | grep -q '^nightly' ||
    rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz

# -a: debug assertions, so integer overflow panics too. No sanitizer:
# grantkit forbids unsafe code, and panics are what is looked for here.
FLAGS=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${FLAGS[@]}"

# One process per target at a time. A crash ends that process: its input
# is saved to fuzz/artifacts/<target>/, and fuzzing resumes from the corpus
# grown so far, until RUNS executions in all or MAX_CRASHES crashes (a
# known crash found again and again would otherwise take all the time).
MAX_CRASHES=${MAX_CRASHES:-25}
failed=()
for target in "${TARGETS[@]}"; do
    mkdir -p "fuzz/scratch/$target" "fuzz/artifacts/$target"
    log="fuzz/artifacts/$target/last-run.log"
    done_runs=0 crashes=0 started=$SECONDS
    while [ "$done_runs" -lt "$RUNS" ] && [ "$crashes" -lt "$MAX_CRASHES" ]; do
        if cargo +nightly fuzz run "${FLAGS[@]}" "$target" \
            "fuzz/scratch/$target" "fuzz/corpus/$target" -- \
            -runs=$((RUNS - done_runs)) -print_final_stats=1 \
            -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1; then
            status=ok
        else
            status=crash
            crashes=$((crashes + 1))
            grep -m1 -A1 'panicked at' "$log" | sed 's/^/    /' | cut -c1-300
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        done_runs=$((done_runs + ${runs:-0}))
        [ "$status" = ok ] && break
        if [ "${runs:-0}" -lt 100 ]; then
            echo "    a seed crashes, or nearly every input: not resuming"
            break
        fi
    done
    corpus=$(ls "fuzz/scratch/$target" | wc -l)
    bytes=$(cat "fuzz/scratch/$target"/* 2>/dev/null | wc -c || true)
    secs=$((SECONDS - started))
    # libFuzzer's own figures for the last process: its corpus in memory
    # and its exec/s.
    last=$(grep -a -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1 || true)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "== $target: $done_runs runs in ${secs}s ($((done_runs / (secs > 0 ? secs : 1))) exec/s" \
         "overall, ${rate:-?} in the last process), scratch corpus $corpus files /" \
         "$bytes bytes (last process: ${last:-?}), $crashes crashes"
    [ "$crashes" -gt 0 ] && failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
