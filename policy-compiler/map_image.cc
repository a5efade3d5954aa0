#include "policy-compiler/map_image.h"

#include <array>
#include <cstring>

namespace flatwall::compiler {
namespace {

// One merge walk over two sorted, duplicate-free tables.
template <typename Entry>
MapChanges<Entry> DiffTable(const std::vector<Entry>& from, const std::vector<Entry>& to) {
  MapChanges<Entry> changes;
  auto old_it = from.begin();
  auto new_it = to.begin();
  while (old_it != from.end() || new_it != to.end()) {
    if (new_it == to.end() || (old_it != from.end() && AbiLess(old_it->key, new_it->key))) {
      changes.deletes.push_back(old_it->key);
      ++old_it;
    } else if (old_it == from.end() || AbiLess(new_it->key, old_it->key)) {
      changes.upserts.push_back(*new_it);
      ++new_it;
    } else {
      if (!AbiEqual(old_it->value, new_it->value)) changes.upserts.push_back(*new_it);
      ++old_it;
      ++new_it;
    }
  }
  return changes;
}

}  // namespace

fw_addr ToAbi(const IpAddress& address) {
  fw_addr out;
  std::memcpy(out.bytes, address.bytes().data(), sizeof(out.bytes));
  return out;
}

IpAddress FromAbi(const fw_addr& address) {
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), address.bytes, bytes.size());
  return IpAddress(bytes);
}

MapDiff DiffImages(const MapImage& from, const MapImage& to) {
  MapDiff diff;
  diff.rules = DiffTable(from.rules, to.rules);
  diff.cidrs = DiffTable(from.cidrs, to.cidrs);
  diff.ipcache = DiffTable(from.ipcache, to.ipcache);
  diff.endpoints = DiffTable(from.endpoints, to.endpoints);
  return diff;
}

}  // namespace flatwall::compiler
