#!/usr/bin/env bash
# The main job until the node agent runs in the lab: the example shop cluster's
# reachability before and after its policies (from the compiled tables, and once through
# the real eBPF programs), then why one flow is denied and another allowed.
set -euo pipefail
cd "$(dirname "$0")/.."
flatwall=build/agent/cli/flatwall
examples=examples/policies

echo "== Reachability on TCP/8080 with no policies (cluster only)"
"$flatwall" matrix --port 8080 "$examples/00-cluster.yaml"
echo
echo "== Reachability on TCP/8080 with every policy in $examples/"
"$flatwall" matrix --port 8080 "$examples"
echo
echo "== Reachability on TCP/5432, judged by the real eBPF programs loaded into the kernel"
"$flatwall" matrix --port 5432 --datapath bpf "$examples"
echo
echo "== Why can the frontend not reach the database?"
"$flatwall" explain --from shop/frontend --to shop/db --port 5432 "$examples" || true
echo
echo "== Why can the backend reach the database?"
"$flatwall" explain --from shop/backend --to shop/db --port 5432 "$examples"
