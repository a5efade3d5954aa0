#include "policy-compiler/internal/peer_resolver.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "policy-compiler/internal/policy_rules.h"
#include "policy-compiler/selector.h"

namespace flatwall::compiler::internal {
namespace {

std::string BlockText(const IpBlock& block) {
  std::vector<IpPrefix> except = block.except;
  std::sort(except.begin(), except.end());
  std::string text = block.cidr.ToString();
  for (const IpPrefix& prefix : except) absl::StrAppend(&text, " ", prefix.ToString());
  return text;
}

bool NamespaceMatches(const std::string& policy_namespace, const PolicyPeer& peer,
                      const std::string& namespace_name, const LabelSet& namespace_labels) {
  return peer.namespace_selector.has_value()
             ? SelectorMatches(*peer.namespace_selector, namespace_labels)
             : namespace_name == policy_namespace;
}

bool PodMatches(const PolicyPeer& peer, const LabelSet& labels) {
  return !peer.pod_selector.has_value() || SelectorMatches(*peer.pod_selector, labels);
}

}  // namespace

bool PeerSelectsIdentity(const std::string& policy_namespace, const PolicyPeer& peer,
                         const IdentityKey& key) {
  return KindOf(peer) == PeerKind::kSelectors &&
         NamespaceMatches(policy_namespace, peer, key.namespace_name, key.namespace_labels) &&
         PodMatches(peer, key.labels);
}

PeerResolver::PeerResolver(const IdentityTable& identities, const CidrClasses& cidrs,
                           const IdentityClassCounts& identity_classes)
    : identities_(identities), cidrs_(cidrs), identity_classes_(identity_classes) {}

const std::vector<uint32_t>& PeerResolver::Identities(const std::string& policy_namespace,
                                                      const PolicyPeer& peer) {
  // The policy's namespace matters only when the peer has no namespace selector.
  std::string key = absl::StrCat(
      peer.namespace_selector ? "N" + CanonicalSelectorText(*peer.namespace_selector)
                              : "n" + policy_namespace,
      "\n", peer.pod_selector ? "P" + CanonicalSelectorText(*peer.pod_selector) : "p",
      "\n", KindOf(peer) == PeerKind::kSelectors ? "s" : "x");
  auto it = identity_cache_.find(key);
  if (it == identity_cache_.end()) {
    it = identity_cache_.emplace(std::move(key), SelectIdentities(policy_namespace, peer)).first;
  }
  return it->second;
}

std::vector<uint32_t> PeerResolver::SelectIdentities(const std::string& policy_namespace,
                                                     const PolicyPeer& peer) const {
  std::vector<uint32_t> selected;
  if (KindOf(peer) != PeerKind::kSelectors) return selected;

  // Candidates, the smaller of: the identities of the matching namespaces, or those
  // carrying the rarest label the pod selector requires.
  std::vector<const std::vector<uint32_t>*> namespace_lists;
  size_t namespace_count = 0;
  auto add_groups = [&](const std::string& name,
                        const std::map<LabelSet, std::vector<uint32_t>>& groups) {
    for (const auto& [labels, ids] : groups) {
      if (!NamespaceMatches(policy_namespace, peer, name, labels)) continue;
      namespace_lists.push_back(&ids);
      namespace_count += ids.size();
    }
  };
  if (peer.namespace_selector.has_value()) {
    for (const auto& [name, groups] : identities_.namespaces()) add_groups(name, groups);
  } else {
    add_groups(policy_namespace, identities_.InNamespace(policy_namespace));
  }
  const std::vector<uint32_t>* label_list = nullptr;
  if (peer.pod_selector.has_value()) {
    auto consider = [&](const std::string& key, const std::string& value) {
      const std::vector<uint32_t>& ids = identities_.WithLabel(key, value);
      if (label_list == nullptr || ids.size() < label_list->size()) label_list = &ids;
    };
    for (const auto& [key, value] : peer.pod_selector->match_labels) consider(key, value);
    for (const LabelSelectorRequirement& requirement : peer.pod_selector->match_expressions) {
      if (requirement.op == LabelSelectorRequirement::Operator::kIn &&
          requirement.values.size() == 1) {
        consider(requirement.key, requirement.values[0]);
      }
    }
  }

  if (label_list != nullptr && label_list->size() < namespace_count) {
    for (uint32_t id : *label_list) {
      const IdentityKey* key = identities_.KeyOf(id);
      if (key != nullptr && PeerSelectsIdentity(policy_namespace, peer, *key)) {
        selected.push_back(id);
      }
    }
  } else {
    for (const std::vector<uint32_t>* ids : namespace_lists) {
      for (uint32_t id : *ids) {
        const IdentityKey* key = identities_.KeyOf(id);
        if (key != nullptr && PodMatches(peer, key->labels)) selected.push_back(id);
      }
    }
    std::sort(selected.begin(), selected.end());
  }
  return selected;
}

const std::vector<uint32_t>& PeerResolver::Classes(const IpBlock& block) {
  std::string key = BlockText(block);
  auto it = class_cache_.find(key);
  if (it == class_cache_.end()) {
    it = class_cache_.emplace(std::move(key), cidrs_.ClassesIn(block)).first;
  }
  return it->second;
}

const std::vector<uint32_t>& PeerResolver::IdentitiesInside(const IpBlock& block) {
  std::string key = BlockText(block);
  auto it = inside_cache_.find(key);
  if (it != inside_cache_.end()) return it->second;
  const std::vector<uint32_t>& inside = Classes(block);
  std::vector<uint32_t> identities;
  for (const auto& [identity, classes] : identity_classes_) {
    if (classes.empty()) continue;
    bool all_inside = std::all_of(classes.begin(), classes.end(), [&](const auto& entry) {
      return std::binary_search(inside.begin(), inside.end(), entry.first);
    });
    if (all_inside) identities.push_back(identity);
  }
  std::sort(identities.begin(), identities.end());
  return inside_cache_.emplace(std::move(key), std::move(identities)).first->second;
}

}  // namespace flatwall::compiler::internal
