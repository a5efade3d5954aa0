// The policy compiler: cluster state + node name -> the node's map image (compile from
// scratch), and the incremental form that turns one cluster event into the minimal diff.
// Both are pure and deterministic: equal inputs give byte-identical images, and after
// every event the incremental image equals a compile from scratch of the same state.
//
// Semantics are networking.k8s.io/v1 NetworkPolicy: a pod is isolated in a direction iff
// some policy selecting it affects that direction; what it may then exchange is the union
// of every selecting policy's rules. ipBlocks apply to pod addresses too. The node's own
// addresses are the agent's (FW_IDENTITY_HOST, always allowed).
//
// Not here: decoding manifests (manifest_decoder.h), looking a flow up in an image
// (policy_lookup.h), writing images to the kernel (agent/).
#ifndef FLATWALL_POLICY_COMPILER_COMPILER_H_
#define FLATWALL_POLICY_COMPILER_COMPILER_H_

#include <memory>
#include <optional>
#include <string>

#include "policy-compiler/cluster_state.h"
#include "policy-compiler/map_image.h"

namespace flatwall::compiler {

namespace internal {
class Compilation;
}  // namespace internal

struct CompileOptions {
  std::string node_name;  // pods scheduled here are the local endpoints
  // Every scheduled pod is local, whatever its node: one image judges every pair of pods
  // (`flatwall matrix`, the reachability suites).
  bool all_nodes = false;
};

// The image for `options.node_name`: fw_ipcache holds every pod IP of the cluster,
// fw_endpoints / fw_rules the local pods and their rules, fw_cidrs every ipBlock prefix.
// Host-network pods are no endpoints and get no IP-cache entry (their IP is their node's);
// pods without IPs get no entries. Cannot fail on validated input; invalid peers (empty,
// or ipBlock mixed with selectors) select nothing.
MapImage Compile(const ClusterState& state, const CompileOptions& options);

// Holds a cluster state and the tables compiled from it, and keeps them current one event
// at a time. A pod event whose identity already exists costs O(log n) and touches only
// that pod's fw_ipcache / fw_endpoints entries; a new identity or a policy change
// recomputes only the rulesets of the local identities it can affect. In the rare event
// that a content-id collision renumbers an existing identity, class, rule or ruleset (see
// internal/content_ids.h), Apply recompiles from scratch and returns that diff. Not
// thread-safe: image() fills a cache.
class IncrementalCompiler {
 public:
  explicit IncrementalCompiler(CompileOptions options);
  // Starts from `initial` (e.g. the result of a list), compiled in one pass.
  IncrementalCompiler(CompileOptions options, ClusterState initial);
  ~IncrementalCompiler();
  IncrementalCompiler(const IncrementalCompiler&) = delete;
  IncrementalCompiler& operator=(const IncrementalCompiler&) = delete;

  // Applies `event` to state() and returns the changes that turn the previous image() into
  // the new one — only entries that really changed, in MapDiff's apply order.
  MapDiff Apply(const ClusterEvent& event);

  // Materialized on first use after a change (O(image size)); the diffs are the cheap path.
  const MapImage& image() const;
  const ClusterState& state() const { return state_; }

 private:
  ClusterState state_;
  std::unique_ptr<internal::Compilation> compilation_;
  mutable std::optional<MapImage> image_;
};

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_COMPILER_H_
