#!/usr/bin/env bash
# Runs the verdict-log throughput benchmark (no root needed: it writes its logs into a
# temporary directory it removes) pinned to one CPU, and prints the medians of 5
# repetitions with the load average before and after.
# Usage: bench/run_log_bench.sh [BUILD_DIR] [extra benchmark flags...]
set -euo pipefail
build=${1:-build}
shift || true
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/verdict_log_bench" --benchmark_format=console --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_counters_tabular=true "$@" 2>&1 |
  grep -E '^(pinned|BM_|Benchmark|-)' | grep -Ev '_(mean|stddev|cv) ' || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
