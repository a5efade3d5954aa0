#!/usr/bin/env bash
# The node agent at idle with 100 local pods and 10k cluster pods (issue 4, Benchmark):
# memory (VmRSS, VmHWM) and CPU (utime+stime) of one flatwall-agent, and its time to ready.
#
# No pod namespaces are needed for this: the agent only sees the manifests, the host side
# of each local pod's veth and the /32 route to the pod's IP. So the script generates a
# manifest directory (100 namespaces x 100 pods, one pod of each namespace on node "bench",
# the rest on 99 other nodes; 3 policies per namespace), makes a "node" namespace with an
# uplink (a veth holding the default route) and 100 veth pairs whose peers sit
# in a second namespace, a /32 route per local pod, and runs the agent in the node
# namespace with its own pin root. It samples /proc/<pid> once a second for SECONDS seconds
# after the agent has been ready for 5 s. Everything is removed on exit, also on failure.
#
# Usage (root): bench/agent_idle_bench.sh AGENT_BINARY [SECONDS]
#        bench/agent_idle_bench.sh --cleanup    (removes leftovers of a killed run)
set -euo pipefail

node_ns=fwbench-idle-node
pods_ns=fwbench-idle-pods
pin_root=/sys/fs/bpf/flatwall-bench-idle
work_dir=/run/flatwall-bench-idle
local_pods=100
pods_per_namespace=100
namespaces=100

agent_pid=""
cleanup() {
  if [[ -n "$agent_pid" ]] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$agent_pid" 2>/dev/null || true
  fi
  # Anything else still in the node namespace is ours too (an agent of a killed run).
  for pid in $(ip netns pids "$node_ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$node_ns" 2>/dev/null || true   # takes the veths, routes and tc filters
  ip netns del "$pods_ns" 2>/dev/null || true
  rm -rf "$pin_root" "$work_dir"
}

if [[ "${1:-}" == "--cleanup" ]]; then
  cleanup
  exit 0
fi
agent=$(realpath "${1:?usage: $0 AGENT_BINARY [SECONDS]}")
seconds=${2:-60}
trap cleanup EXIT
cleanup  # a previous run killed before its trap ran
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# Pod i (0..9999) lives in namespace ns-<i/100> at 10.20.<i/250>.<i%250+1>; the first pod of
# each namespace runs on node "bench", the others spread over node-1..node-99.
manifests="$work_dir/manifests"
mkdir -p "$manifests"
awk -v dir="$manifests" -v namespaces="$namespaces" -v per_ns="$pods_per_namespace" '
BEGIN {
  for (n = 0; n < namespaces; n++) {
    file = sprintf("%s/ns-%03d.yaml", dir, n)
    purpose = (n == 0) ? "monitoring" : "app"
    printf "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-%03d, labels: {team: team-%d, purpose: %s}}\n", n, n % 20, purpose > file
    for (p = 0; p < per_ns; p++) {
      i = n * per_ns + p
      node = (p == 0) ? "bench" : sprintf("node-%d", p)
      ip = sprintf("10.20.%d.%d", int(i / 250), i % 250 + 1)
      printf "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: ns-%03d, name: pod-%d, labels: {app: app-%d, tier: tier-%d}}\n", n, p, p % 10, p % 4 > file
      printf "spec:\n  nodeName: %s\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]}\n", node > file
      printf "status: {podIP: %s, podIPs: [{ip: %s}]}\n", ip, ip > file
    }
    printf "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: ns-%03d, name: default-deny}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n", n > file
    printf "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: ns-%03d, name: app-from-front}\nspec:\n  podSelector: {matchLabels: {tier: tier-1}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {tier: tier-0}}}]\n    ports: [{port: http}]\n", n > file
    printf "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: ns-%03d, name: metrics-from-monitoring}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {purpose: monitoring}}}]\n    ports: [{port: metrics}]\n", n > file
    close(file)
  }
}'

ip netns add "$node_ns"
ip netns add "$pods_ns"
{
  echo "link set lo up"
  echo "link add eth0 type veth peer name uplink netns $pods_ns"
  echo "address add 10.30.0.2/24 dev eth0"
  echo "link set eth0 up"
  echo "route add default via 10.30.0.1 dev eth0"
  for ((k = 0; k < local_pods; k++)); do
    i=$((k * pods_per_namespace))
    echo "link add vbench$k type veth peer name vpod$k netns $pods_ns"
    echo "link set vbench$k up"
    echo "route add 10.20.$((i / 250)).$((i % 250 + 1))/32 dev vbench$k"
  done
} | ip -n "$node_ns" -batch -
{ echo "link set uplink up"; for ((k = 0; k < local_pods; k++)); do echo "link set vpod$k up"; done; } | ip -n "$pods_ns" -batch -

in_node() { nsenter --net="/run/netns/$node_ns" "$@"; }
ready() { [[ "$(in_node curl -s -o /dev/null -m 1 -w '%{http_code}' http://127.0.0.1:9464/readyz)" == 200 ]]; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
status_kb() { awk -v key="$1:" '$1 == key {print $2}' "/proc/$agent_pid/status"; }

start_ns=$(date +%s%N)
# nsenter directly (not through in_node): a function run with & would be a subshell, and
# $! its pid rather than the agent's; nsenter execs the agent, so $! is the agent.
nsenter --net="/run/netns/$node_ns" "$agent" --node-name bench --source "dir:$manifests" --bpffs-root "$pin_root" \
  --verdict-log off --listen 127.0.0.1:9464 >"$work_dir/agent.log" 2>&1 &
agent_pid=$!
until ready; do
  if ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "agent exited before ready:" >&2; tail -20 "$work_dir/agent.log" >&2; exit 1
  fi
  if (( $(date +%s%N) - start_ns > 120000000000 )); then echo "not ready in 120 s" >&2; exit 1; fi
  sleep 0.01
done
ready_ns=$(date +%s%N)
ticks_at_ready=$(cpu_ticks)
hwm_at_ready=$(status_kb VmHWM)
rss_at_ready=$(status_kb VmRSS)
sleep 5
attached=$(grep -c ' attached ' "$work_dir/agent.log" || true)

hz=$(getconf CLK_TCK)
ticks_before=$(cpu_ticks)
rss_min=""; rss_max=0
for ((s = 0; s < seconds; s++)); do
  sleep 1
  rss=$(status_kb VmRSS)
  [[ -z "$rss_min" || $rss -lt $rss_min ]] && rss_min=$rss
  (( rss > rss_max )) && rss_max=$rss
done
ticks_after=$(cpu_ticks)
metrics=$(in_node curl -s -m 2 http://127.0.0.1:9464/metrics)

echo "agent idle: $((namespaces * pods_per_namespace)) cluster pods, $local_pods on this node," \
  "$((namespaces * 3)) policies; veths attached: $attached"
echo "time to ready (start -> /readyz 200, polled every ~10 ms + curl): $(((ready_ns - start_ns) / 1000000)) ms"
echo "CPU to ready: $(awk -v t="$ticks_at_ready" -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}') s;" \
  "VmRSS at ready: $((rss_at_ready / 1024)) MiB, VmHWM at ready: $((hwm_at_ready / 1024)) MiB"
echo "idle ${seconds} s: VmRSS $((rss_min / 1024))-$((rss_max / 1024)) MiB, VmHWM $(($(status_kb VmHWM) / 1024)) MiB," \
  "threads $(status_kb Threads), CPU $(awk -v d="$((ticks_after - ticks_before))" -v hz="$hz" -v s="$seconds" \
  'BEGIN {printf "%.2f s = %.2f %% of one core (tick %.0f ms)", d / hz, 100 * d / hz / s, 1000 / hz}')"
echo "metrics:"
grep -E '^flatwall_(endpoints|identities|rules|veths|map_entries)' <<<"$metrics" || true
echo "agent log (start, first state, veths):"
grep -E ' (info node |info initial sync)' "$work_dir/agent.log" | cut -c1-200
grep ' attached ' "$work_dir/agent.log" | sed -n '1p;$p' | cut -c1-120
