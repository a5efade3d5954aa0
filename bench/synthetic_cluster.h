// A synthetic cluster with realistic label distributions, for the compiler benchmarks:
// namespaces owned by teams, each running a few apps of a few replicas in tiers, policies
// of the kinds real clusters carry (default deny, tier-to-tier, from monitoring by named
// port, namespace-by-label, egress to CIDR blocks with excepts), and a pool of CIDRs.
#ifndef FLATWALL_BENCH_SYNTHETIC_CLUSTER_H_
#define FLATWALL_BENCH_SYNTHETIC_CLUSTER_H_

#include <cstdint>
#include <vector>

#include "policy-compiler/model.h"

namespace flatwall::bench {

struct ClusterShape {
  int pods = 1000;
  int policies = 100;
  int cidrs = 1000;
  int pods_per_node = 100;
  int pods_per_namespace = 100;
  uint32_t seed = 1;
};

// Namespaces first, then pods, then policies; deterministic for a given shape.
std::vector<compiler::ClusterObject> MakeSyntheticCluster(const ClusterShape& shape);

// A pod like those of MakeSyntheticCluster, scheduled on node-0 with a fresh IP: with the
// labels of a pod already on node-0 (the common case: a replica scales up), or with those
// of an app that has no pod on node-0 yet (its ruleset must be written).
compiler::Pod MakeExtraPod(const ClusterShape& shape, int serial, bool new_local_identity);

}  // namespace flatwall::bench

#endif  // FLATWALL_BENCH_SYNTHETIC_CLUSTER_H_
