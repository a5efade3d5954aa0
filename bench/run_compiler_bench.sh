#!/usr/bin/env bash
# Runs the compiler benchmarks one size per process, so each peak_rss_mb is that size's
# own peak. Usage: bench/run_compiler_bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
bench="$build/bench/compiler_bench"
for filter in 'BM_FullCompile/pods:1000/policies:100' 'BM_FullCompile/pods:10000/' \
              'BM_FullCompile/pods:100000/' 'BM_IncrementalPodAddDelete/pods:10000/' \
              'BM_IncrementalPodAddDelete/pods:100000/policies:10000/new_local_identity:0' \
              'BM_IncrementalPodAddDelete/pods:100000/policies:10000/new_local_identity:1'; do
  "$bench" --benchmark_filter="^${filter}" --benchmark_format=console 2>/dev/null | grep -E '^BM_'
done
