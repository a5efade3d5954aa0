// The compiler's working state: the tables of one node's image plus everything derived
// from the cluster that keeps them cheap to update (identities with reference counts, CIDR
// classes, rule and ruleset ids, which local identities each policy selects). Compile()
// builds one from scratch; IncrementalCompiler keeps one current event by event. Both go
// through the same steps, which is what makes the incremental image equal to a compile
// from scratch.
//
// Not here: the public API and its contracts (compiler.h); rule generation
// (ruleset_builder.h).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_COMPILATION_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_COMPILATION_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "policy-compiler/cidr_classes.h"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/identity.h"
#include "policy-compiler/internal/content_ids.h"
#include "policy-compiler/internal/peer_resolver.h"
#include "policy-compiler/internal/policy_rules.h"
#include "policy-compiler/internal/recorded_table.h"
#include "policy-compiler/internal/ruleset_builder.h"
#include "policy-compiler/map_image.h"

namespace flatwall::compiler::internal {

class Compilation {
 public:
  explicit Compilation(CompileOptions options);

  // Recomputes every table from `state`.
  void Rebuild(const ClusterState& state);

  // Brings the tables up to date with `event`, which `state` already reflects. `before` is
  // the policy a NetworkPolicy event replaced or deleted (nullptr when there was none, and
  // for other kinds: pods and namespaces are recomputed from their stored records). Returns
  // the net change of the four datapath tables.
  MapDiff Apply(const ClusterState& state, const ClusterEvent& event,
                const ClusterObject* before);

  // The image, with the info tables filled in from `state` (the state the tables were
  // computed from).
  MapImage Materialize(const ClusterState& state) const;

 private:
  // A pod that is not host-network: what the tables hold for it.
  struct PodRecord {
    uint32_t identity = 0;
    bool local = false;
    std::vector<IpAddress> ips;  // sorted, unique
  };

  // An address claimed by pods. The smallest pod key owns it (two pods can briefly report
  // one IP); `published` says an fw_ipcache entry (identity, cidr_class) is out for it.
  struct AddressState {
    std::vector<std::string> claims;  // pod keys, sorted
    bool published = false;
    uint32_t identity = 0;
    uint32_t cidr_class = 0;
    bool local = false;
  };

  // A pod identity with at least one pod on this node.
  struct LocalIdentity {
    uint32_t local_pods = 0;
    bool ready = false;  // selection and ruleset computed
    // "namespace/name" of the policies isolating it, per direction, sorted.
    std::vector<std::string> policies[FW_DIR_COUNT];
    uint32_t ruleset = 0;  // 0: no rules at all
    fw_endpoint_value value{};
    bool uses_ip_blocks = false;            // some selecting policy has an ipBlock peer
    bool uses_block_named_ports = false;    // ... an egress ipBlock peer with a named port
  };

  // What one event changed, gathered before the dependent tables are refreshed.
  struct Batch {
    IdentityChanges identity_changes;
    CidrChanges cidr_changes;
    bool renumbered = false;  // a rule or ruleset id collision moved an existing id
    std::set<IpAddress> touched_ips;
    std::set<uint32_t> local_count_changed;
    std::vector<std::string> changed_policies;  // keys
    std::string changed_namespace;              // a Namespace event's name
  };

  void Reset();
  bool IsLocal(const Pod& pod) const;

  void ProcessPod(const ClusterState& state, const std::string& key, const Pod* after,
                  Batch* batch);
  void ProcessPolicy(const std::string& key, const NetworkPolicy* before,
                     const NetworkPolicy* after, Batch* batch);
  MapDiff Finish(const ClusterState& state, Batch* batch);
  MapDiff Fallback(const ClusterState& state);

  // Republishes fw_ipcache for `address` from its claims; records identities whose set of
  // classes changed.
  void RefreshAddress(const IpAddress& address, std::set<uint32_t>* class_sets_changed);
  void WriteEndpoint(const IpAddress& address);

  Selection SelectPolicies(const ClusterState& state, const IdentityKey& key) const;
  // Records `selection` as what selects local identity `id`, its ruleset, and whether its
  // namespace asks for allowed new flows to be logged (FW_EP_LOG_ALLOWED).
  void Install(uint32_t id, const Selection& selection, uint32_t ruleset,
               const RulesetContent* content, bool log_allowed);
  void RefreshLocal(const ClusterState& state, uint32_t id, RulesetBuilder* builder,
                    Batch* batch);
  void Teardown(uint32_t id, Batch* batch);
  uint32_t AcquireRuleset(RulesetContent content, Batch* batch);
  void ReleaseRuleset(uint32_t ruleset, Batch* batch);
  void WriteRuleset(uint32_t ruleset, const RulesetContent& content, bool present);

  // Whether a policy selecting `local` has an ipBlock whose cidr contains one of
  // `prefixes` (classes that appeared or disappeared): only such blocks change contents.
  bool SelectsBlockAround(const ClusterState& state, const LocalIdentity& local,
                          const std::vector<IpPrefix>& prefixes) const;
  // Local identities whose rules may change because identities were created or removed.
  std::set<uint32_t> AffectedByIdentities(const ClusterState& state,
                                          const std::vector<const IdentityKey*>& keys) const;

  CompileOptions options_;

  IdentityTable identities_;
  CidrClasses cidrs_;
  ContentIds<RuleRef> rule_ids_;
  ContentIds<RulesetContent> rulesets_;
  absl::flat_hash_map<uint32_t, uint32_t> ruleset_users_;  // ruleset -> local identities

  absl::btree_map<std::string, PodRecord> pods_;  // a btree: no rehash pauses on churn
  absl::btree_map<IpAddress, AddressState> addresses_;
  IdentityClassCounts identity_classes_;  // from the published fw_ipcache entries

  absl::flat_hash_map<uint32_t, LocalIdentity> locals_;
  absl::flat_hash_map<uint32_t, std::set<IpAddress>> endpoint_addresses_;  // by identity
  std::map<std::string, std::set<uint32_t>> policy_locals_;  // policy -> local identities

  RecordedTable<fw_endpoint_key, fw_endpoint_value> endpoints_;
  RecordedTable<fw_ipcache_key, fw_ipcache_value> ipcache_;
  RecordedTable<fw_cidr_key, fw_cidr_value> cidr_table_;
  RecordedTable<fw_rule_key, fw_rule_value> rules_;
};

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_COMPILATION_H_
