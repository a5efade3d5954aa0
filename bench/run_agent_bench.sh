#!/usr/bin/env bash
# The node agent's benchmarks (issue 4), one after the other, as root:
#   1. event-to-enforcement latency in a 2-node lab (enforcement_latency_bench)
#   2. real traffic: enforced vs no programs vs iptables (traffic_bench)
#   3. the agent at idle with 100 local and 10k cluster pods (agent_idle_bench.sh)
# Each lab is taken down, and the idle benchmark's namespaces, pins and agent removed, on
# exit — also when a step fails or the script is interrupted. Traffic stays inside the
# labs' namespaces. Figures go to docs/benchmarks.md ("Node agent").
#
# Usage: bench/run_agent_bench.sh BUILD_DIR [CHANGES] [ROUNDS] [IDLE_SECONDS]
set -euo pipefail
build=$(realpath "${1:?usage: $0 BUILD_DIR [CHANGES] [ROUNDS] [IDLE_SECONDS]}")
changes=${2:-120}
rounds=${3:-5}
idle_seconds=${4:-60}
here=$(dirname "$(realpath "$0")")
flatwall="$build/agent/cli/flatwall"
agent="$build/agent/flatwall-agent"
latency_lab=agbenchlatency
traffic_lab=agbenchtraffic

cleanup() {
  "$flatwall" lab down --name "$latency_lab" >/dev/null 2>&1 || true
  "$flatwall" lab down --name "$traffic_lab" >/dev/null 2>&1 || true
  bash "$here/agent_idle_bench.sh" --cleanup || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for binary in "$flatwall" "$agent" "$build/bench/enforcement_latency_bench" "$build/bench/traffic_bench"; do
  [[ -x "$binary" ]] || { echo "missing $binary (build it first)" >&2; exit 1; }
done
cleanup

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(iptables -V)"

echo "## 1. event-to-enforcement latency"
"$flatwall" lab up --name "$latency_lab" --agent "$agent" "$here/agent_bench_lab.yaml" >/dev/null
"$build/bench/enforcement_latency_bench" --lab "$latency_lab" --changes "$changes" \
  --csv "/tmp/agent-bench-latency-$$.csv"
echo "(per change: /tmp/agent-bench-latency-$$.csv)"
"$flatwall" lab down --name "$latency_lab" >/dev/null

echo "## 2. traffic: enforced vs no programs vs iptables"
"$flatwall" lab up --name "$traffic_lab" --agent "$agent" "$here/agent_bench_lab.yaml" \
  "$here/agent_bench_allow_client.yaml" >/dev/null
"$build/bench/traffic_bench" --lab "$traffic_lab" --rounds "$rounds"
"$flatwall" lab down --name "$traffic_lab" >/dev/null

echo "## 3. agent idle"
bash "$here/agent_idle_bench.sh" "$agent" "$idle_seconds"
