#!/usr/bin/env bash
# Runs the datapath benchmarks (needs root) under a pin root of its own, removed on exit
# even when the benchmark fails or is interrupted. Prints the medians of 5 repetitions.
# Usage: sudo bench/run_datapath_bench.sh [BUILD_DIR] [extra benchmark flags...]
set -euo pipefail
build=${1:-build}
shift || true
bench="$build/bench/datapath_bench"
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
pin_root="/sys/fs/bpf/flatwall-bench-$$"
cleanup() { rm -rf "$pin_root"; }
trap cleanup EXIT
FLATWALL_BENCH_PIN_ROOT="$pin_root" "$bench" --benchmark_format=console \
  --benchmark_counters_tabular=true "$@" 2>/dev/null | grep -E '^(BM_|Benchmark|-)' | grep -Ev '_(mean|stddev|cv) ' || true
