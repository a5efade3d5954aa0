#!/usr/bin/env bash
# The api-watch benchmark (issue 5): the initial list of 100k pods + 10k policies + 1k
# namespaces from the fake API server (a child process), then 1,000 pod events/s for 20 s.
# Needs no root; starts nothing that outlives it. Figures go to docs/benchmarks.md
# ("api-watch"). Usage: bench/run_apiwatch_bench.sh [BUILD_DIR] [extra apiwatch_bench flags]
set -euo pipefail
build=${1:-build}
shift || true
bench="$build/bench/apiwatch_bench"
[[ -x "$bench" ]] || { echo "missing $bench (build the apiwatch_bench target first)" >&2; exit 1; }
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" --pods=100000 --policies=10000 --namespaces=1000 --rate=1000 --seconds=20 "$@"
