#include "policy-compiler/internal/compilation.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy-compiler/annotations.h"
#include "policy-compiler/selector.h"

namespace flatwall::compiler::internal {
namespace {

constexpr uint64_t kIdEnd = uint64_t{1} << 32;

// Past this many identities created or removed by one event (a namespace relabel), testing
// each active policy against each of them costs more than recomputing every local ruleset.
constexpr size_t kMaxIdentitiesToScreen = 256;

std::string PolicyKey(const NetworkPolicy& policy) {
  return absl::StrCat(policy.namespace_name, "/", policy.name);
}

// Whether the namespace asks for its pods' allowed new flows to be logged.
bool NamespaceLogsAllowed(const ClusterState& state, const std::string& namespace_name) {
  auto it = state.namespaces().find(namespace_name);
  return it != state.namespaces().end() && LogsAllowedFlows(it->second.annotations);
}

// Whether creating or removing identity `key` can change what `policy` compiles to: a
// selector peer selecting it, or an egress named port towards every peer (resolved per
// pod identity). Egress named ports towards ipBlocks depend on the identities' addresses
// and are refreshed when those change.
bool PolicyMayInvolve(const NetworkPolicy& policy, const IdentityKey& key) {
  for (fw_direction direction : kDirections) {
    for (const PolicyRule& rule : EffectiveRules(policy, direction)) {
      if (rule.peers.empty() && direction == FW_DIR_EGRESS && HasNamedPort(rule)) return true;
      for (const PolicyPeer& peer : rule.peers) {
        if (PeerSelectsIdentity(policy.namespace_name, peer, key)) return true;
      }
    }
  }
  return false;
}

}  // namespace

Compilation::Compilation(CompileOptions options)
    : options_(std::move(options)), rule_ids_(1, kIdEnd), rulesets_(1, kIdEnd) {}

bool Compilation::IsLocal(const Pod& pod) const {
  return !pod.node_name.empty() && (options_.all_nodes || pod.node_name == options_.node_name);
}

void Compilation::Reset() {
  identities_ = IdentityTable();
  cidrs_ = CidrClasses();
  rule_ids_ = ContentIds<RuleRef>(1, kIdEnd);
  rulesets_ = ContentIds<RulesetContent>(1, kIdEnd);
  ruleset_users_.clear();
  pods_.clear();
  addresses_.clear();
  identity_classes_.clear();
  locals_.clear();
  endpoint_addresses_.clear();
  policy_locals_.clear();
  endpoints_.Clear();
  ipcache_.Clear();
  cidr_table_.Clear();
  rules_.Clear();
}

// ---- From scratch ----------------------------------------------------------------------

void Compilation::Rebuild(const ClusterState& state) {
  Reset();

  // Ids first, in bulk: rule ids and CIDR classes from every policy of the cluster, so
  // they agree between nodes.
  std::vector<std::pair<RuleRef, uint64_t>> rule_refs;
  std::map<IpPrefix, uint32_t> prefix_references;
  for (const auto& [key, policy] : state.policies()) {
    for (RuleRef& ref : RuleRefs(policy)) {
      uint64_t hash = HashRuleRef(ref);
      rule_refs.emplace_back(std::move(ref), hash);
    }
    for (const IpPrefix& prefix : ReferencedPrefixes(policy)) ++prefix_references[prefix];
  }
  rule_ids_.Assign(std::move(rule_refs));
  cidrs_.Assign(prefix_references);
  for (const CidrEntry& entry : cidrs_.Entries()) cidr_table_.Put(entry.key, entry.value);

  // Identities of every pod that is not host-network.
  IdentityKeyGrouper grouper;
  std::vector<std::pair<const std::string*, const Pod*>> grouped_pods;
  std::vector<size_t> pod_groups;
  std::string labels_of;
  LabelSet namespace_labels;
  for (const auto& [key, pod] : state.pods()) {
    if (pod.host_network) continue;
    if (pod.namespace_name != labels_of || grouped_pods.empty()) {
      labels_of = pod.namespace_name;  // pods come sorted, so namespace by namespace
      namespace_labels = state.NamespaceLabels(labels_of);
    }
    pod_groups.push_back(grouper.Add(pod, namespace_labels));
    grouped_pods.emplace_back(&key, &pod);
  }
  const std::vector<uint32_t> group_ids = identities_.Assign(std::move(grouper.groups()));
  for (size_t i = 0; i < grouped_pods.size(); ++i) {
    const auto& [key, pod] = grouped_pods[i];
    PodRecord record;
    record.identity = group_ids[pod_groups[i]];
    record.local = IsLocal(*pod);
    record.ips = pod->ips;
    std::sort(record.ips.begin(), record.ips.end());
    record.ips.erase(std::unique(record.ips.begin(), record.ips.end()), record.ips.end());
    for (const IpAddress& ip : record.ips) addresses_[ip].claims.push_back(*key);
    if (record.local) ++locals_[record.identity].local_pods;
    pods_.emplace(*key, std::move(record));
  }

  // fw_ipcache; state.pods() is sorted by key, so every claim list is already sorted.
  std::set<uint32_t> ignored;
  for (auto& [address, claim] : addresses_) RefreshAddress(address, &ignored);

  // Rulesets of the local identities: build all contents, then give ids to the distinct
  // ones in bulk.
  PeerResolver resolver(identities_, cidrs_, identity_classes_);
  RulesetBuilder builder(&resolver, identities_, rule_ids_);
  std::vector<std::pair<uint32_t, Selection>> selections;
  std::map<RulesetContent, std::vector<uint32_t>> users;
  std::vector<uint32_t> local_ids;
  for (const auto& [id, local] : locals_) local_ids.push_back(id);
  std::sort(local_ids.begin(), local_ids.end());
  for (uint32_t id : local_ids) {
    const IdentityKey& key = *identities_.KeyOf(id);
    Selection selection = SelectPolicies(state, key);
    RulesetContent content = builder.Build(key, selection);
    users[std::move(content)].push_back(id);
    selections.emplace_back(id, std::move(selection));
  }
  std::vector<std::pair<RulesetContent, uint64_t>> contents;
  for (const auto& [content, ids] : users) {
    if (!content.entries.empty()) contents.emplace_back(content, HashRulesetContent(content));
  }
  rulesets_.Assign(std::move(contents));
  absl::flat_hash_map<uint32_t, std::pair<uint32_t, const RulesetContent*>> ruleset_of;
  std::vector<RuleEntry> rules;
  for (const auto& [content, ids] : users) {
    uint32_t ruleset = content.entries.empty() ? 0 : rulesets_.Find(content);
    if (ruleset != 0) {
      ruleset_users_[ruleset] = static_cast<uint32_t>(ids.size());
      for (RuleEntry entry : content.entries) {
        entry.key.ruleset = ruleset;
        rules.push_back(entry);
      }
    }
    for (uint32_t id : ids) ruleset_of[id] = {ruleset, &content};
  }
  // In key order, so the table is appended to rather than searched.
  std::sort(rules.begin(), rules.end(), [](const RuleEntry& a, const RuleEntry& b) {
    return AbiLessThan<fw_rule_key>()(a.key, b.key);
  });
  for (const RuleEntry& entry : rules) rules_.Put(entry.key, entry.value);
  rules.clear();
  for (const auto& [id, selection] : selections) {
    Install(id, selection, ruleset_of[id].first, ruleset_of[id].second,
            NamespaceLogsAllowed(state, identities_.KeyOf(id)->namespace_name));
  }

  for (const auto& [address, claim] : addresses_) WriteEndpoint(address);
}

// ---- One event -------------------------------------------------------------------------

MapDiff Compilation::Apply(const ClusterState& state, const ClusterEvent& event,
                           const ClusterObject* before) {
  endpoints_.StartRecording();
  ipcache_.StartRecording();
  cidr_table_.StartRecording();
  rules_.StartRecording();
  Batch batch;
  std::string key = ObjectKey(event.object);
  if (std::holds_alternative<Pod>(event.object)) {
    ProcessPod(state, key, state.FindPod(key), &batch);
  } else if (std::holds_alternative<Namespace>(event.object)) {
    batch.changed_namespace = key;
    // The namespace's labels are part of its pods' identity keys.
    for (const Pod* pod : state.PodsInNamespace(key)) {
      // After a renumbering the stored ids are stale; Finish recompiles from scratch.
      if (batch.identity_changes.renumbered) break;
      ProcessPod(state, absl::StrCat(pod->namespace_name, "/", pod->name), pod, &batch);
    }
  } else if (std::holds_alternative<NetworkPolicy>(event.object)) {
    auto after = state.policies().find(key);
    ProcessPolicy(key,
                  before != nullptr ? std::get_if<NetworkPolicy>(before) : nullptr,
                  after != state.policies().end() ? &after->second : nullptr, &batch);
  }
  // Services do not reach the policy tables.
  return Finish(state, &batch);
}

void Compilation::ProcessPod(const ClusterState& state, const std::string& key,
                             const Pod* after, Batch* batch) {
  std::optional<PodRecord> old;
  if (auto it = pods_.find(key); it != pods_.end()) {
    old = std::move(it->second);
    pods_.erase(it);
  }

  // The new identity is acquired before the old one is released, so a pod that keeps its
  // identity never drops it to zero references and back.
  std::vector<IpAddress> new_ips;
  if (after != nullptr && !after->host_network) {
    PodRecord record;
    record.identity = identities_.Acquire(
        MakeIdentityKey(*after, state.NamespaceLabels(after->namespace_name)),
        &batch->identity_changes);
    record.local = IsLocal(*after);
    record.ips = after->ips;
    std::sort(record.ips.begin(), record.ips.end());
    record.ips.erase(std::unique(record.ips.begin(), record.ips.end()), record.ips.end());
    if (record.local) {
      ++locals_[record.identity].local_pods;
      batch->local_count_changed.insert(record.identity);
    }
    for (const IpAddress& ip : record.ips) {
      std::vector<std::string>& claims = addresses_[ip].claims;
      auto at = std::lower_bound(claims.begin(), claims.end(), key);
      if (at == claims.end() || *at != key) claims.insert(at, key);
      batch->touched_ips.insert(ip);
    }
    new_ips = record.ips;
    pods_.emplace(key, std::move(record));
  }
  if (old.has_value()) {
    for (const IpAddress& ip : old->ips) {
      batch->touched_ips.insert(ip);
      if (std::binary_search(new_ips.begin(), new_ips.end(), ip)) continue;
      std::vector<std::string>& claims = addresses_[ip].claims;
      auto at = std::lower_bound(claims.begin(), claims.end(), key);
      if (at != claims.end() && *at == key) claims.erase(at);
    }
    if (batch->identity_changes.renumbered) return;  // ids are stale; Finish recompiles
    if (old->local) {
      --locals_[old->identity].local_pods;
      batch->local_count_changed.insert(old->identity);
    }
    identities_.Release(old->identity, &batch->identity_changes);
  }
}

void Compilation::ProcessPolicy(const std::string& key, const NetworkPolicy* before,
                                const NetworkPolicy* after, Batch* batch) {
  // New references before old releases, so an unchanged prefix or rule keeps its id.
  std::vector<RuleRef> after_refs;
  if (after != nullptr) {
    after_refs = RuleRefs(*after);
    for (const RuleRef& ref : after_refs) {
      if (rule_ids_.Find(ref) == 0 && !rule_ids_.Add(ref, HashRuleRef(ref)).empty()) {
        batch->renumbered = true;
      }
    }
    for (const IpPrefix& prefix : ReferencedPrefixes(*after)) {
      cidrs_.AddReference(prefix, &batch->cidr_changes);
    }
  }
  if (before != nullptr) {
    for (const RuleRef& ref : RuleRefs(*before)) {
      if (std::find(after_refs.begin(), after_refs.end(), ref) != after_refs.end()) continue;
      if (!rule_ids_.Remove(ref).empty()) batch->renumbered = true;
    }
    for (const IpPrefix& prefix : ReferencedPrefixes(*before)) {
      cidrs_.RemoveReference(prefix, &batch->cidr_changes);
    }
  }
  batch->changed_policies.push_back(key);
}

MapDiff Compilation::Finish(const ClusterState& state, Batch* batch) {
  if (batch->renumbered || batch->identity_changes.renumbered ||
      batch->cidr_changes.renumbered) {
    return Fallback(state);
  }

  // A class that came or went changes fw_cidrs and the class of the addresses inside it.
  const std::vector<IpPrefix>& changed_prefixes = batch->cidr_changes.changed;
  if (!changed_prefixes.empty()) {
    std::vector<CidrEntry> entries = cidrs_.Entries();
    for (const CidrEntry& old : cidr_table_.Entries()) {
      bool kept = std::binary_search(
          entries.begin(), entries.end(), old,
          [](const CidrEntry& a, const CidrEntry& b) { return AbiLess(a.key, b.key); });
      if (!kept) cidr_table_.Erase(old.key);
    }
    for (const CidrEntry& entry : entries) cidr_table_.Put(entry.key, entry.value);
    // Only an address inside a prefix that came or went can change class; a prefix's
    // addresses are one contiguous run of the sorted address map.
    for (const IpPrefix& prefix : changed_prefixes) {
      std::array<uint8_t, 16> last = prefix.address().bytes();
      for (int bit = prefix.length128(); bit < 128; ++bit) last[bit / 8] |= 0x80 >> (bit % 8);
      for (auto it = addresses_.lower_bound(prefix.address());
           it != addresses_.end() && it->first <= IpAddress(last); ++it) {
        batch->touched_ips.insert(it->first);
      }
    }
  }
  std::set<uint32_t> class_sets_changed;
  for (const IpAddress& address : batch->touched_ips) {
    RefreshAddress(address, &class_sets_changed);
  }

  // Which local identities need their selection and ruleset recomputed.
  std::set<uint32_t> dirty;
  for (uint32_t id : batch->local_count_changed) {
    auto it = locals_.find(id);
    if (it == locals_.end()) continue;
    if (it->second.local_pods == 0 && !it->second.ready) {
      locals_.erase(it);  // came and went within this event
    } else if ((it->second.local_pods == 0) == it->second.ready) {
      dirty.insert(id);  // a first local pod, or the last one gone
    }
  }
  for (const std::string& key : batch->changed_policies) {
    if (auto it = policy_locals_.find(key); it != policy_locals_.end()) {
      dirty.insert(it->second.begin(), it->second.end());
    }
    auto policy = state.policies().find(key);
    if (policy == state.policies().end()) continue;
    for (const auto& [id, local] : locals_) {
      const IdentityKey* identity = identities_.KeyOf(id);
      if (identity != nullptr && identity->namespace_name == policy->second.namespace_name &&
          SelectorMatches(policy->second.pod_selector, identity->labels)) {
        dirty.insert(id);
      }
    }
  }
  // A namespace's annotation decides its endpoints' FW_EP_LOG_ALLOWED.
  if (!batch->changed_namespace.empty()) {
    const bool log_allowed = NamespaceLogsAllowed(state, batch->changed_namespace);
    for (const auto& [id, local] : locals_) {
      const IdentityKey* identity = identities_.KeyOf(id);
      if (local.ready && identity != nullptr &&
          identity->namespace_name == batch->changed_namespace &&
          ((local.value.flags & FW_EP_LOG_ALLOWED) != 0) != log_allowed) {
        dirty.insert(id);
      }
    }
  }
  std::vector<const IdentityKey*> changed_identities;
  for (uint32_t id : batch->identity_changes.created) {
    if (const IdentityKey* key = identities_.KeyOf(id)) changed_identities.push_back(key);
  }
  for (const auto& [id, key] : batch->identity_changes.removed) changed_identities.push_back(&key);
  if (!changed_identities.empty()) {
    std::set<uint32_t> affected = AffectedByIdentities(state, changed_identities);
    dirty.insert(affected.begin(), affected.end());
  }
  if (!changed_prefixes.empty() || !class_sets_changed.empty()) {
    for (const auto& [id, local] : locals_) {
      if ((!class_sets_changed.empty() && local.uses_block_named_ports) ||
          (local.uses_ip_blocks && SelectsBlockAround(state, local, changed_prefixes))) {
        dirty.insert(id);
      }
    }
  }

  PeerResolver resolver(identities_, cidrs_, identity_classes_);
  RulesetBuilder builder(&resolver, identities_, rule_ids_);
  for (uint32_t id : dirty) {
    auto it = locals_.find(id);
    if (it == locals_.end()) continue;
    if (it->second.local_pods == 0) {
      Teardown(id, batch);
    } else {
      RefreshLocal(state, id, &builder, batch);
    }
  }
  if (batch->renumbered) return Fallback(state);

  for (const IpAddress& address : batch->touched_ips) WriteEndpoint(address);
  for (uint32_t id : dirty) {
    auto it = endpoint_addresses_.find(id);
    if (it == endpoint_addresses_.end()) continue;
    for (const IpAddress& address : it->second) WriteEndpoint(address);
  }

  MapDiff diff;
  diff.rules = rules_.TakeChanges();
  diff.cidrs = cidr_table_.TakeChanges();
  diff.ipcache = ipcache_.TakeChanges();
  diff.endpoints = endpoints_.TakeChanges();
  return diff;
}

MapDiff Compilation::Fallback(const ClusterState& state) {
  endpoints_.Rollback();
  ipcache_.Rollback();
  cidr_table_.Rollback();
  rules_.Rollback();
  MapImage before;
  before.endpoints = endpoints_.Entries();
  before.ipcache = ipcache_.Entries();
  before.cidrs = cidr_table_.Entries();
  before.rules = rules_.Entries();
  Rebuild(state);
  MapImage after;
  after.endpoints = endpoints_.Entries();
  after.ipcache = ipcache_.Entries();
  after.cidrs = cidr_table_.Entries();
  after.rules = rules_.Entries();
  return DiffImages(before, after);
}

std::set<uint32_t> Compilation::AffectedByIdentities(
    const ClusterState& state, const std::vector<const IdentityKey*>& keys) const {
  std::set<uint32_t> affected;
  if (keys.size() > kMaxIdentitiesToScreen) {
    for (const auto& [id, local] : locals_) affected.insert(id);
    return affected;
  }
  for (const auto& [policy_key, ids] : policy_locals_) {
    if (ids.empty()) continue;
    auto policy = state.policies().find(policy_key);
    if (policy == state.policies().end()) continue;
    for (const IdentityKey* key : keys) {
      if (PolicyMayInvolve(policy->second, *key)) {
        affected.insert(ids.begin(), ids.end());
        break;
      }
    }
  }
  return affected;
}

bool Compilation::SelectsBlockAround(const ClusterState& state, const LocalIdentity& local,
                                     const std::vector<IpPrefix>& prefixes) const {
  if (prefixes.empty()) return false;
  for (fw_direction direction : kDirections) {
    for (const std::string& key : local.policies[direction]) {
      auto policy = state.policies().find(key);
      if (policy == state.policies().end()) return true;  // changed: dirty anyway
      for (const PolicyRule& rule : EffectiveRules(policy->second, direction)) {
        for (const PolicyPeer& peer : rule.peers) {
          if (KindOf(peer) != PeerKind::kIpBlock) continue;
          for (const IpPrefix& prefix : prefixes) {
            if (peer.ip_block->cidr.Contains(prefix)) return true;
          }
        }
      }
    }
  }
  return false;
}

// ---- Addresses -------------------------------------------------------------------------

void Compilation::RefreshAddress(const IpAddress& address,
                                 std::set<uint32_t>* class_sets_changed) {
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return;
  AddressState& state = it->second;
  const fw_ipcache_key key{ToAbi(address)};

  const bool publish = !state.claims.empty();
  uint32_t identity = 0;
  uint32_t cidr_class = 0;
  bool local = false;
  if (publish) {
    const PodRecord& owner = pods_.at(state.claims.front());
    identity = owner.identity;
    local = owner.local;
    cidr_class = cidrs_.ClassOf(address);
  }
  // Unchanged: leave the tables alone, so a class-set change that moves no address (the
  // common case) does not rewrite 100k IP-cache entries.
  const bool same = state.published == publish && state.identity == identity &&
                    state.cidr_class == cidr_class;
  if (publish && same && state.local == local) return;

  // Retract what was published.
  if (state.published && !same) {
    std::map<uint32_t, uint32_t>& classes = identity_classes_[state.identity];
    if (--classes[state.cidr_class] == 0) {
      classes.erase(state.cidr_class);
      class_sets_changed->insert(state.identity);
    }
    if (classes.empty()) identity_classes_.erase(state.identity);
  }
  if (state.published && state.local) {
    auto endpoints = endpoint_addresses_.find(state.identity);
    if (endpoints != endpoint_addresses_.end()) {
      endpoints->second.erase(address);
      if (endpoints->second.empty()) endpoint_addresses_.erase(endpoints);
    }
  }
  if (!publish) {
    ipcache_.Erase(key);
    endpoints_.Erase(fw_endpoint_key{key.addr});
    addresses_.erase(it);
    return;
  }

  // Publish the new owner's view.
  if (!same && ++identity_classes_[identity][cidr_class] == 1) {
    class_sets_changed->insert(identity);
  }
  state.published = true;
  state.identity = identity;
  state.cidr_class = cidr_class;
  state.local = local;
  ipcache_.Put(key, fw_ipcache_value{identity, cidr_class});
  if (local) {
    endpoint_addresses_[identity].insert(address);  // its entry is written by WriteEndpoint
  } else {
    endpoints_.Erase(fw_endpoint_key{key.addr});
  }
}

void Compilation::WriteEndpoint(const IpAddress& address) {
  const fw_endpoint_key key{ToAbi(address)};
  auto it = addresses_.find(address);
  if (it == addresses_.end() || !it->second.published || !it->second.local) {
    endpoints_.Erase(key);
    return;
  }
  auto local = locals_.find(it->second.identity);
  if (local == locals_.end() || !local->second.ready) {
    endpoints_.Erase(key);
    return;
  }
  endpoints_.Put(key, local->second.value);
}

// ---- Local identities and their rulesets ------------------------------------------------

Selection Compilation::SelectPolicies(const ClusterState& state, const IdentityKey& key) const {
  Selection selection;
  for (const NetworkPolicy* policy : state.PoliciesInNamespace(key.namespace_name)) {
    if (!SelectorMatches(policy->pod_selector, key.labels)) continue;
    for (fw_direction direction : kDirections) {
      if (Affects(*policy, direction)) selection.policies[direction].push_back(policy);
    }
  }
  return selection;
}

void Compilation::Install(uint32_t id, const Selection& selection, uint32_t ruleset,
                          const RulesetContent* content, bool log_allowed) {
  LocalIdentity& local = locals_[id];
  for (const std::vector<std::string>& keys : local.policies) {
    for (const std::string& key : keys) {
      auto it = policy_locals_.find(key);
      if (it == policy_locals_.end()) continue;
      it->second.erase(id);
      if (it->second.empty()) policy_locals_.erase(it);
    }
  }
  local.uses_ip_blocks = false;
  local.uses_block_named_ports = false;
  local.value = fw_endpoint_value{};
  local.value.identity = id;
  local.value.ruleset = ruleset;
  if (log_allowed) local.value.flags |= FW_EP_LOG_ALLOWED;
  for (fw_direction direction : kDirections) {
    local.policies[direction].clear();
    for (const NetworkPolicy* policy : selection.policies[direction]) {
      std::string key = PolicyKey(*policy);
      policy_locals_[key].insert(id);
      local.policies[direction].push_back(std::move(key));
      for (const PolicyRule& rule : EffectiveRules(*policy, direction)) {
        for (const PolicyPeer& peer : rule.peers) {
          if (KindOf(peer) != PeerKind::kIpBlock) continue;
          local.uses_ip_blocks = true;
          if (direction == FW_DIR_EGRESS && HasNamedPort(rule)) {
            local.uses_block_named_ports = true;
          }
        }
      }
    }
    if (!local.policies[direction].empty()) {
      local.value.flags |= direction == FW_DIR_INGRESS ? FW_EP_ISOLATED_INGRESS
                                                       : FW_EP_ISOLATED_EGRESS;
    }
  }
  if (content != nullptr) RuleKinds(*content, local.value.rule_kinds);
  local.ruleset = ruleset;
  local.ready = true;
}

void Compilation::RefreshLocal(const ClusterState& state, uint32_t id, RulesetBuilder* builder,
                               Batch* batch) {
  const IdentityKey& key = *identities_.KeyOf(id);
  Selection selection = SelectPolicies(state, key);
  RulesetContent content = builder->Build(key, selection);
  const uint32_t old_ruleset = locals_[id].ready ? locals_[id].ruleset : 0;
  // Acquire before release: an unchanged ruleset keeps its entries untouched.
  const uint32_t ruleset = AcquireRuleset(content, batch);
  ReleaseRuleset(old_ruleset, batch);
  Install(id, selection, ruleset, &content, NamespaceLogsAllowed(state, key.namespace_name));
}

void Compilation::Teardown(uint32_t id, Batch* batch) {
  auto it = locals_.find(id);
  if (it == locals_.end()) return;
  if (it->second.ready) {
    const uint32_t ruleset = it->second.ruleset;
    Install(id, Selection{}, 0, nullptr, false);  // unregisters it from policy_locals_
    ReleaseRuleset(ruleset, batch);
  }
  locals_.erase(id);
}

uint32_t Compilation::AcquireRuleset(RulesetContent content, Batch* batch) {
  if (content.entries.empty()) return 0;
  uint32_t ruleset = rulesets_.Find(content);
  if (ruleset == 0) {
    uint64_t hash = HashRulesetContent(content);
    if (!rulesets_.Add(content, hash).empty()) batch->renumbered = true;
    ruleset = rulesets_.Find(content);
    WriteRuleset(ruleset, content, true);
  }
  ++ruleset_users_[ruleset];
  return ruleset;
}

void Compilation::ReleaseRuleset(uint32_t ruleset, Batch* batch) {
  if (ruleset == 0) return;
  auto users = ruleset_users_.find(ruleset);
  if (users == ruleset_users_.end() || --users->second > 0) return;
  ruleset_users_.erase(users);
  RulesetContent content = *rulesets_.KeyOf(ruleset);
  WriteRuleset(ruleset, content, false);
  if (!rulesets_.Remove(content).empty()) batch->renumbered = true;
}

void Compilation::WriteRuleset(uint32_t ruleset, const RulesetContent& content, bool present) {
  for (const RuleEntry& entry : content.entries) {
    fw_rule_key key = entry.key;
    key.ruleset = ruleset;
    if (present) {
      rules_.Put(key, entry.value);
    } else {
      rules_.Erase(key);
    }
  }
}

// ---- Output ----------------------------------------------------------------------------

MapImage Compilation::Materialize(const ClusterState& state) const {
  MapImage image;
  image.endpoints = endpoints_.Entries();
  image.ipcache = ipcache_.Entries();
  image.cidrs = cidr_table_.Entries();
  image.rules = rules_.Entries();

  rule_ids_.ForEach([&](const RuleRef& ref, uint32_t id) {
    RuleInfo info;
    info.rule_id = id;
    info.policy_namespace = ref.policy_namespace;
    info.policy_name = ref.policy_name;
    info.direction = ref.direction;
    info.rule_index = ref.rule_index;
    auto policy = state.policies().find(absl::StrCat(ref.policy_namespace, "/", ref.policy_name));
    if (policy != state.policies().end()) {
      info.policy_uid = policy->second.uid;
      info.policy_generation = policy->second.generation;
    }
    image.rule_table.push_back(std::move(info));
  });
  std::sort(image.rule_table.begin(), image.rule_table.end(),
            [](const RuleInfo& a, const RuleInfo& b) { return a.rule_id < b.rule_id; });

  identities_.ForEach([&](const IdentityKey& key, uint32_t id) {
    image.identities.push_back({id, key.namespace_name, key.labels, key.namespace_labels});
  });
  std::sort(image.identities.begin(), image.identities.end(),
            [](const IdentityInfo& a, const IdentityInfo& b) { return a.identity < b.identity; });

  // One info row per table entry, in the same order, so row i describes entry i.
  auto owner_of = [&](const fw_addr& addr) -> std::pair<IpAddress, const Pod*> {
    IpAddress address = FromAbi(addr);
    const AddressState& claim = addresses_.at(address);
    return {address, state.FindPod(claim.claims.front())};
  };
  image.endpoint_info.reserve(image.endpoints.size());
  for (const EndpointEntry& entry : image.endpoints) {
    auto [address, pod] = owner_of(entry.key.addr);
    EndpointInfo info;
    info.address = address;
    if (pod != nullptr) {
      info.pod_namespace = pod->namespace_name;
      info.pod_name = pod->name;
      info.pod_uid = pod->uid;
    }
    const LocalIdentity& local = locals_.at(entry.value.identity);
    for (fw_direction direction : kDirections) {
      info.isolating_policies[direction] = local.policies[direction];
    }
    image.endpoint_info.push_back(std::move(info));
  }
  image.pod_addresses.reserve(image.ipcache.size());
  for (const IpcacheEntry& entry : image.ipcache) {
    auto [address, pod] = owner_of(entry.key.addr);
    PodAddressInfo info;
    info.address = address;
    if (pod != nullptr) {
      info.pod_namespace = pod->namespace_name;
      info.pod_name = pod->name;
      info.pod_uid = pod->uid;
      info.node_name = pod->node_name;
    }
    image.pod_addresses.push_back(std::move(info));
  }

  std::vector<std::string> isolating;
  for (const EndpointInfo& info : image.endpoint_info) {
    for (const std::vector<std::string>& keys : info.isolating_policies) {
      isolating.insert(isolating.end(), keys.begin(), keys.end());
    }
  }
  std::sort(isolating.begin(), isolating.end());
  isolating.erase(std::unique(isolating.begin(), isolating.end()), isolating.end());
  for (const std::string& key : isolating) {
    auto policy = state.policies().find(key);
    if (policy == state.policies().end()) continue;
    image.policy_table.push_back({policy->second.namespace_name, policy->second.name,
                                  policy->second.uid, policy->second.generation});
  }
  // "ns/name" order is not (namespace, name) order: '-' sorts before '/'.
  std::sort(image.policy_table.begin(), image.policy_table.end(),
            [](const PolicyInfo& a, const PolicyInfo& b) {
              return std::tie(a.policy_namespace, a.policy_name) <
                     std::tie(b.policy_namespace, b.policy_name);
            });
  return image;
}

}  // namespace flatwall::compiler::internal
