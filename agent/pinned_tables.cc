#include "agent/pinned_tables.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "abi/datapath_maps.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "agent/map_entries.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// Every (key, value) of a hash map or LPM trie, sorted by key and without the repeats a
// concurrent delete can cause. `maps`: a Datapath or PinnedMaps.
template <typename Entry, typename Maps>
absl::StatusOr<std::vector<Entry>> ReadMap(const Maps& maps, DatapathMap map) {
  std::vector<Entry> entries;
  FW_RETURN_IF_ERROR(
      (ForEachMapEntry<decltype(Entry::key), decltype(Entry::value)>(
          maps.map_fd(map), MapPinName(map), [&](const auto& key, const auto& value) {
            Entry& entry = entries.emplace_back();
            entry.key = key;
            entry.value = value;
          })));
  auto key_less = [](const Entry& a, const Entry& b) { return compiler::AbiLess(a.key, b.key); };
  auto key_equal = [](const Entry& a, const Entry& b) {
    return compiler::AbiEqual(a.key, b.key);
  };
  std::sort(entries.begin(), entries.end(), key_less);
  entries.erase(std::unique(entries.begin(), entries.end(), key_equal), entries.end());
  return entries;
}

template <typename Maps>
absl::StatusOr<compiler::MapImage> ReadTables(const Maps& maps) {
  compiler::MapImage image;
  FW_ASSIGN_OR_RETURN(image.endpoints,
                      ReadMap<compiler::EndpointEntry>(maps, DatapathMap::kEndpoints));
  FW_ASSIGN_OR_RETURN(image.ipcache,
                      ReadMap<compiler::IpcacheEntry>(maps, DatapathMap::kIpcache));
  FW_ASSIGN_OR_RETURN(image.cidrs,
                      ReadMap<compiler::CidrEntry>(maps, DatapathMap::kCidrs));
  FW_ASSIGN_OR_RETURN(image.rules,
                      ReadMap<compiler::RuleEntry>(maps, DatapathMap::kRules));
  FW_ASSIGN_OR_RETURN(const std::vector<compiler::RuleEntry> ranges,
                      ReadMap<compiler::RuleEntry>(maps, DatapathMap::kRuleRanges));
  // Each map's entries come sorted; the image wants one sorted list.
  const size_t hashed = image.rules.size();
  image.rules.insert(image.rules.end(), ranges.begin(), ranges.end());
  std::inplace_merge(image.rules.begin(), image.rules.begin() + hashed, image.rules.end(),
                     [](const compiler::RuleEntry& a, const compiler::RuleEntry& b) {
                       return compiler::AbiLess(a.key, b.key);
                     });
  return image;
}

}  // namespace

absl::StatusOr<compiler::MapImage> ReadPinnedTables(const Datapath& datapath) {
  return ReadTables(datapath);
}

absl::StatusOr<compiler::MapImage> ReadPinnedTables(const PinnedMaps& maps) {
  for (const DatapathMap map : {DatapathMap::kEndpoints, DatapathMap::kIpcache,
                                DatapathMap::kCidrs, DatapathMap::kRules,
                                DatapathMap::kRuleRanges}) {
    if (maps.map_fd(map) < 0) {
      return absl::NotFoundError(
          absl::StrCat(MapPinName(map), " is not pinned under ", maps.root()));
    }
  }
  return ReadTables(maps);
}

absl::StatusOr<std::vector<compiler::IpAddress>> ReadPinnedServices(const Datapath& datapath) {
  using ServiceEntry = compiler::MapEntry<fw_service_key, fw_service_value>;
  FW_ASSIGN_OR_RETURN(const std::vector<ServiceEntry> entries,
                      ReadMap<ServiceEntry>(datapath, DatapathMap::kServices));
  std::vector<compiler::IpAddress> addresses;
  for (const ServiceEntry& entry : entries) {
    addresses.push_back(compiler::FromAbi(entry.key.addr));
  }
  // Byte order is address order: AbiLess already sorted them.
  return addresses;
}

}  // namespace flatwall::agent
