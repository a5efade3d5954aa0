#include "agent/pinned_tables.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "abi/datapath_maps.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// Every (key, value) of a hash map or LPM trie, sorted by key. get_next_key works for
// both kinds (LPM tries support no batch operations) and for maps of any size; a key
// deleted between the two calls is skipped, and a hash iteration that restarts after a
// concurrent delete may repeat keys, which the final de-duplication removes.
template <typename Entry>
absl::StatusOr<std::vector<Entry>> ReadMap(const Datapath& datapath, DatapathMap map) {
  const int fd = datapath.map_fd(map);
  std::vector<Entry> entries;
  Entry entry{};
  for (int err = bpf_map_get_next_key(fd, nullptr, &entry.key); err == 0;
       err = bpf_map_get_next_key(fd, &entry.key, &entry.key)) {
    if (bpf_map_lookup_elem(fd, &entry.key, &entry.value) != 0) {
      if (errno == ENOENT) continue;
      return BpfError(errno, absl::StrCat("read map ", MapPinName(map)));
    }
    entries.push_back(entry);
  }
  if (errno != ENOENT) return BpfError(errno, absl::StrCat("iterate map ", MapPinName(map)));
  auto key_less = [](const Entry& a, const Entry& b) { return compiler::AbiLess(a.key, b.key); };
  auto key_equal = [](const Entry& a, const Entry& b) {
    return compiler::AbiEqual(a.key, b.key);
  };
  std::sort(entries.begin(), entries.end(), key_less);
  entries.erase(std::unique(entries.begin(), entries.end(), key_equal), entries.end());
  return entries;
}

}  // namespace

absl::StatusOr<compiler::MapImage> ReadPinnedTables(const Datapath& datapath) {
  compiler::MapImage image;
  FW_ASSIGN_OR_RETURN(image.endpoints,
                      ReadMap<compiler::EndpointEntry>(datapath, DatapathMap::kEndpoints));
  FW_ASSIGN_OR_RETURN(image.ipcache,
                      ReadMap<compiler::IpcacheEntry>(datapath, DatapathMap::kIpcache));
  FW_ASSIGN_OR_RETURN(image.cidrs, ReadMap<compiler::CidrEntry>(datapath, DatapathMap::kCidrs));
  FW_ASSIGN_OR_RETURN(image.rules, ReadMap<compiler::RuleEntry>(datapath, DatapathMap::kRules));
  FW_ASSIGN_OR_RETURN(const std::vector<compiler::RuleEntry> ranges,
                      ReadMap<compiler::RuleEntry>(datapath, DatapathMap::kRuleRanges));
  // Each map's entries come sorted; the image wants one sorted list.
  const size_t hashed = image.rules.size();
  image.rules.insert(image.rules.end(), ranges.begin(), ranges.end());
  std::inplace_merge(image.rules.begin(), image.rules.begin() + hashed, image.rules.end(),
                     [](const compiler::RuleEntry& a, const compiler::RuleEntry& b) {
                       return compiler::AbiLess(a.key, b.key);
                     });
  return image;
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
