#include "policy-compiler/identity.h"

#include <algorithm>
#include <tuple>

#include "absl/container/inlined_vector.h"

#include "abi/common.h"
#include "policy-compiler/internal/stable_hash.h"

namespace flatwall::compiler {
namespace {

constexpr uint64_t kIdentityEnd = uint64_t{1} << 31;

void InsertSorted(std::vector<uint32_t>* ids, uint32_t id) {
  auto it = std::lower_bound(ids->begin(), ids->end(), id);
  if (it == ids->end() || *it != id) ids->insert(it, id);
}

void EraseSorted(std::vector<uint32_t>* ids, uint32_t id) {
  auto it = std::lower_bound(ids->begin(), ids->end(), id);
  if (it != ids->end() && *it == id) ids->erase(it);
}

const std::vector<uint32_t>& EmptyIds() {
  static const auto* const kEmpty = new std::vector<uint32_t>();
  return *kEmpty;
}

}  // namespace

IdentityKey MakeIdentityKey(const Pod& pod, const LabelSet& namespace_labels) {
  IdentityKey key{pod.namespace_name, namespace_labels, pod.labels, {}};
  for (const ContainerPort& port : pod.ports) {
    if (port.name.empty()) continue;
    key.named_ports[port.name].emplace_back(port.protocol, port.port);
  }
  for (auto& [name, ports] : key.named_ports) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  }
  return key;
}

uint64_t HashIdentityKey(const IdentityKey& key) {
  internal::StableHasher hasher;
  hasher.AddString(key.namespace_name).AddLabels(key.namespace_labels).AddLabels(key.labels);
  hasher.AddInt(key.named_ports.size());
  for (const auto& [name, ports] : key.named_ports) {
    hasher.AddString(name).AddInt(ports.size());
    for (const auto& [protocol, port] : ports) {
      hasher.AddInt(static_cast<uint8_t>(protocol)).AddInt(port);
    }
  }
  return hasher.Finish();
}

namespace {

// A pod's named ports as sorted, unique (name, protocol, port) triples, without allocating
// for the usual handful.
using PortTriples = absl::InlinedVector<std::tuple<const std::string*, Protocol, uint16_t>, 8>;

PortTriples NamedPortTriples(const Pod& pod) {
  PortTriples triples;
  for (const ContainerPort& port : pod.ports) {
    if (!port.name.empty()) triples.emplace_back(&port.name, port.protocol, port.port);
  }
  auto less = [](const auto& a, const auto& b) {
    int names = std::get<0>(a)->compare(*std::get<0>(b));
    if (names != 0) return names < 0;
    return std::tie(std::get<1>(a), std::get<2>(a)) < std::tie(std::get<1>(b), std::get<2>(b));
  };
  auto equal = [](const auto& a, const auto& b) {
    return *std::get<0>(a) == *std::get<0>(b) && std::get<1>(a) == std::get<1>(b) &&
           std::get<2>(a) == std::get<2>(b);
  };
  std::sort(triples.begin(), triples.end(), less);
  triples.erase(std::unique(triples.begin(), triples.end(), equal), triples.end());
  return triples;
}

bool NamedPortsEqual(const NamedPortTable& table, const PortTriples& triples) {
  size_t i = 0;
  for (const auto& [name, ports] : table) {
    for (const auto& [protocol, port] : ports) {
      if (i == triples.size() || *std::get<0>(triples[i]) != name ||
          std::get<1>(triples[i]) != protocol || std::get<2>(triples[i]) != port) {
        return false;
      }
      ++i;
    }
  }
  return i == triples.size();
}

}  // namespace

size_t IdentityKeyGrouper::Add(const Pod& pod, const LabelSet& namespace_labels) {
  PortTriples ports = NamedPortTriples(pod);
  // Only for bucketing: equal keys hash equally, and a bucket is searched exactly.
  internal::StableHasher hasher;
  hasher.AddString(pod.namespace_name).AddLabels(pod.labels);
  for (const auto& [name, protocol, port] : ports) {
    hasher.AddString(*name).AddInt(static_cast<uint8_t>(protocol)).AddInt(port);
  }
  std::vector<size_t>& bucket = by_hash_[hasher.Finish()];
  for (size_t group : bucket) {
    const IdentityKey& key = groups_[group].first;
    if (key.namespace_name == pod.namespace_name && key.labels == pod.labels &&
        NamedPortsEqual(key.named_ports, ports)) {
      ++groups_[group].second;
      return group;
    }
  }
  bucket.push_back(groups_.size());
  groups_.emplace_back(MakeIdentityKey(pod, namespace_labels), 1);
  return groups_.size() - 1;
}

std::vector<uint16_t> ResolveNamedPort(const IdentityKey& key, const std::string& port_name,
                                       Protocol protocol) {
  std::vector<uint16_t> numbers;
  auto it = key.named_ports.find(port_name);
  if (it == key.named_ports.end()) return numbers;
  for (const auto& [port_protocol, port] : it->second) {
    if (port_protocol == protocol) numbers.push_back(port);
  }
  return numbers;
}

IdentityTable::IdentityTable() : ids_(FW_IDENTITY_FIRST_POD, kIdentityEnd) {}

std::vector<uint32_t> IdentityTable::Assign(
    std::vector<std::pair<IdentityKey, uint32_t>> pod_counts) {
  std::vector<std::pair<IdentityKey, uint64_t>> keys;
  keys.reserve(pod_counts.size());
  for (auto& [key, count] : pod_counts) {
    uint64_t hash = HashIdentityKey(key);
    keys.emplace_back(std::move(key), hash);
  }
  std::vector<uint32_t> ids = ids_.Assign(std::move(keys));
  pod_counts_.clear();
  for (size_t i = 0; i < ids.size(); ++i) pod_counts_[ids[i]] = pod_counts[i].second;
  RebuildIndexes();
  return ids;
}

uint32_t IdentityTable::Acquire(const IdentityKey& key, IdentityChanges* changes) {
  if (uint32_t id = ids_.Find(key); id != 0) {
    ++pod_counts_[id];
    return id;
  }
  std::vector<internal::ContentIds<IdentityKey>::Renumbered> moved =
      ids_.Add(key, HashIdentityKey(key));
  uint32_t id = ids_.Find(key);
  changes->created.push_back(id);
  if (moved.empty()) {
    pod_counts_[id] = 1;
    Index(id, *ids_.KeyOf(id));
    return id;
  }
  Renumber(moved, changes);
  pod_counts_[id] = 1;
  return id;
}

void IdentityTable::Release(uint32_t id, IdentityChanges* changes) {
  auto count = pod_counts_.find(id);
  if (count == pod_counts_.end()) return;
  if (--count->second > 0) return;
  pod_counts_.erase(count);
  const IdentityKey* live = ids_.KeyOf(id);
  if (live == nullptr) return;
  IdentityKey key = *live;
  Unindex(id, key);
  std::vector<internal::ContentIds<IdentityKey>::Renumbered> moved = ids_.Remove(key);
  if (!moved.empty()) Renumber(moved, changes);
  changes->removed.emplace_back(id, std::move(key));
}

void IdentityTable::Renumber(
    const std::vector<internal::ContentIds<IdentityKey>::Renumbered>& moved,
    IdentityChanges* changes) {
  changes->renumbered = true;
  absl::flat_hash_map<uint32_t, uint32_t> counts;
  for (const auto& [old_id, count] : pod_counts_) counts[old_id] = count;
  for (const auto& change : moved) counts.erase(change.old_id);
  for (const auto& change : moved) counts[change.new_id] = pod_counts_[change.old_id];
  pod_counts_ = std::move(counts);
  RebuildIndexes();
}

const std::map<LabelSet, std::vector<uint32_t>>& IdentityTable::InNamespace(
    const std::string& name) const {
  static const auto* const kNone = new std::map<LabelSet, std::vector<uint32_t>>();
  auto it = by_namespace_.find(name);
  return it == by_namespace_.end() ? *kNone : it->second;
}

const std::vector<uint32_t>& IdentityTable::WithLabel(absl::string_view key,
                                                      absl::string_view value) const {
  auto it = by_label_.find(LabelSet::value_type(key, value));
  return it == by_label_.end() ? EmptyIds() : it->second.ids;
}

std::vector<uint32_t>& IdentityTable::LabelIds(const LabelSet& labels,
                                               const LabelSet::value_type& label) {
  auto [it, inserted] = by_label_.try_emplace(label);
  if (inserted) it->second.owner = labels;
  return it->second.ids;
}

const std::vector<uint32_t>& IdentityTable::WithNamedPort(const std::string& port_name) const {
  auto it = by_named_port_.find(port_name);
  return it == by_named_port_.end() ? EmptyIds() : it->second;
}

void IdentityTable::Index(uint32_t id, const IdentityKey& key) {
  InsertSorted(&by_namespace_[key.namespace_name][key.namespace_labels], id);
  for (const auto& label : key.labels) InsertSorted(&LabelIds(key.labels, label), id);
  for (const auto& [name, ports] : key.named_ports) InsertSorted(&by_named_port_[name], id);
}

void IdentityTable::Unindex(uint32_t id, const IdentityKey& key) {
  auto ns = by_namespace_.find(key.namespace_name);
  if (ns != by_namespace_.end()) {
    auto group = ns->second.find(key.namespace_labels);
    if (group != ns->second.end()) {
      EraseSorted(&group->second, id);
      if (group->second.empty()) ns->second.erase(group);
    }
    if (ns->second.empty()) by_namespace_.erase(ns);
  }
  for (const auto& label : key.labels) {
    auto it = by_label_.find(label);
    if (it == by_label_.end()) continue;
    EraseSorted(&it->second.ids, id);
    if (it->second.ids.empty()) by_label_.erase(it);
  }
  for (const auto& [name, ports] : key.named_ports) {
    auto it = by_named_port_.find(name);
    if (it == by_named_port_.end()) continue;
    EraseSorted(&it->second, id);
    if (it->second.empty()) by_named_port_.erase(it);
  }
}

void IdentityTable::RebuildIndexes() {
  by_namespace_.clear();
  by_label_.clear();
  by_named_port_.clear();
  // Appending in id order keeps every list sorted without per-insert shifting.
  std::vector<std::pair<uint32_t, const IdentityKey*>> all;
  all.reserve(ids_.size());
  ids_.ForEach([&](const IdentityKey& key, uint32_t id) { all.emplace_back(id, &key); });
  std::sort(all.begin(), all.end());
  for (const auto& [id, key] : all) {
    by_namespace_[key->namespace_name][key->namespace_labels].push_back(id);
    for (const auto& label : key->labels) LabelIds(key->labels, label).push_back(id);
    for (const auto& [name, ports] : key->named_ports) by_named_port_[name].push_back(id);
  }
}

}  // namespace flatwall::compiler
