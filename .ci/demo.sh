#!/usr/bin/env bash
# The main job: the flat-network lab (a VPC fabric, two nodes, one flatwall-agent per
# node) running the example shop cluster. Real connections between every pair of pods
# before and after the example policies, the same matrix from the compiled model, why one
# flow is denied, and what the agents logged. Needs root; removes the lab on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FLATWALL_BUILD_DIR:-build}
flatwall=$build/agent/cli/flatwall
examples=examples/policies/00-shop
lab=demo

remove_lab() { "$flatwall" lab down --name "$lab" > /dev/null 2>&1 || true; }
trap remove_lab EXIT
remove_lab

echo "== Building the lab: fabric (VPC 10.10.0.0/16), 2 nodes, 5 pods, one agent per node"
"$flatwall" lab up --name "$lab" --nodes 2 "$examples/00-cluster.yaml"
echo
echo "== Real TCP connections on port 8080, no policies yet"
"$flatwall" lab probe --name "$lab" --port 8080
echo
echo "== Applying every policy in $examples/ (returns once both agents enforce them)"
"$flatwall" lab apply --name "$lab" "$examples"
echo
for port in 8080 5432; do
  echo "== Real TCP connections on port $port, with the policies"
  "$flatwall" lab probe --name "$lab" --port "$port"
  echo
  echo "== The compiled model says the same (flatwall matrix; a pod reaching itself and"
  echo "   ports nobody serves differ only because the probe finds nothing listening)"
  "$flatwall" matrix --port "$port" "$examples"
  echo
done
echo "== Why can the frontend not reach the database?"
"$flatwall" explain --from shop/frontend --to shop/db --port 5432 "$examples" || true
echo
echo "== What the agents logged: the last denials on each node (verdict log, JSON lines)"
for node in node-1 node-2; do
  log=/run/flatwall-lab/$lab/nodes/$node/verdicts.jsonl
  echo "-- $node: $(wc -l < "$log") records; the last 2:"
  tail -n 2 "$log"
done
