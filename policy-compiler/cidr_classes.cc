#include "policy-compiler/cidr_classes.h"

#include <algorithm>

#include "policy-compiler/internal/stable_hash.h"

namespace flatwall::compiler {
namespace {

constexpr uint64_t kClassEnd = uint64_t{1} << 32;

std::array<uint8_t, 16> Masked(const std::array<uint8_t, 16>& bytes, int length) {
  std::array<uint8_t, 16> out = bytes;
  for (int bit = length; bit < 128; ++bit) {
    out[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  return out;
}

const IpPrefix& Ipv4Everything() {
  static const auto* const kPrefix = new IpPrefix(*IpPrefix::Parse("0.0.0.0/0"));
  return *kPrefix;
}

// An IPv6 prefix of at most 96 bits whose leading bits match ::ffff:0:0.
bool CoversIpv4(const IpPrefix& prefix) {
  if (prefix.is_v4() || prefix.length() > 96) return false;
  const std::array<uint8_t, 16>& v4_root = Ipv4Everything().address().bytes();
  return Masked(v4_root, prefix.length()) == prefix.address().bytes();
}

uint64_t HashPrefix(const IpPrefix& prefix) {
  internal::StableHasher hasher;
  hasher.AddBytes(prefix.address().bytes().data(), 16).AddInt(prefix.length128());
  return hasher.Finish();
}

}  // namespace

CidrClasses::CidrClasses() : ids_(1, kClassEnd) {}

CidrClasses::TrieKey CidrClasses::ToTrieKey(const IpPrefix& prefix) {
  return {prefix.address().bytes(), prefix.length128()};
}

void CidrClasses::Assign(const std::map<IpPrefix, uint32_t>& references) {
  references_ = references;
  v4_covering_ = 0;
  std::vector<std::pair<IpPrefix, uint64_t>> keys;
  for (const auto& [prefix, count] : references_) {
    if (CoversIpv4(prefix)) ++v4_covering_;
  }
  for (const auto& [prefix, count] : references_) keys.emplace_back(prefix, HashPrefix(prefix));
  if (v4_covering_ > 0 && references_.count(Ipv4Everything()) == 0) {
    keys.emplace_back(Ipv4Everything(), HashPrefix(Ipv4Everything()));
  }
  ids_.Assign(std::move(keys));
  RebuildTrie();
}

bool CidrClasses::WantsClass(const IpPrefix& prefix) const {
  if (references_.count(prefix) > 0) return true;
  return prefix == Ipv4Everything() && v4_covering_ > 0;
}

void CidrClasses::AddReference(const IpPrefix& prefix, CidrChanges* changes) {
  if (++references_[prefix] > 1) return;
  if (CoversIpv4(prefix)) ++v4_covering_;
  Refresh(prefix, changes);
  Refresh(Ipv4Everything(), changes);
}

void CidrClasses::RemoveReference(const IpPrefix& prefix, CidrChanges* changes) {
  auto it = references_.find(prefix);
  if (it == references_.end() || --it->second > 0) return;
  references_.erase(it);
  if (CoversIpv4(prefix)) --v4_covering_;
  Refresh(prefix, changes);
  Refresh(Ipv4Everything(), changes);
}

void CidrClasses::Refresh(const IpPrefix& prefix, CidrChanges* changes) {
  bool wanted = WantsClass(prefix);
  bool present = ids_.Find(prefix) != 0;
  if (wanted == present) return;
  changes->changed.push_back(prefix);
  if (wanted) {
    if (!ids_.Add(prefix, HashPrefix(prefix)).empty()) changes->renumbered = true;
  } else {
    if (!ids_.Remove(prefix).empty()) changes->renumbered = true;
  }
  // The class set changes rarely (a policy edit); rebuilding the small trie keeps one path.
  RebuildTrie();
}

void CidrClasses::RebuildTrie() {
  trie_.clear();
  lengths_.clear();
  ids_.ForEach([&](const IpPrefix& prefix, uint32_t id) {
    trie_[ToTrieKey(prefix)] = id;
    ++lengths_[prefix.length128()];
  });
}

uint32_t CidrClasses::ClassOf(const IpAddress& address) const {
  for (const auto& [length, count] : lengths_) {
    auto it = trie_.find(TrieKey{Masked(address.bytes(), length), length});
    if (it != trie_.end()) return it->second;
  }
  return 0;
}

std::vector<uint32_t> CidrClasses::ClassesIn(const IpBlock& block) const {
  std::vector<uint32_t> classes;
  ids_.ForEach([&](const IpPrefix& prefix, uint32_t id) {
    if (!block.cidr.Contains(prefix)) return;
    for (const IpPrefix& except : block.except) {
      if (except.Contains(prefix)) return;
    }
    classes.push_back(id);
  });
  std::sort(classes.begin(), classes.end());
  return classes;
}

std::vector<CidrEntry> CidrClasses::Entries() const {
  std::vector<CidrEntry> entries;
  entries.reserve(ids_.size());
  ids_.ForEach([&](const IpPrefix& prefix, uint32_t id) {
    CidrEntry entry{};
    entry.key.prefixlen = static_cast<__u32>(prefix.length128());
    std::copy(prefix.address().bytes().begin(), prefix.address().bytes().end(),
              entry.key.addr.bytes);
    entry.value.cidr_class = id;
    entries.push_back(entry);
  });
  std::sort(entries.begin(), entries.end(),
            [](const CidrEntry& a, const CidrEntry& b) { return AbiLess(a.key, b.key); });
  return entries;
}

}  // namespace flatwall::compiler
