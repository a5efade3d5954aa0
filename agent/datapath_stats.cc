#include "agent/datapath_stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "policy-compiler/map_image.h"

namespace flatwall::agent {
namespace {

// A per-CPU lookup returns one value per possible CPU, each padded to 8 bytes.
absl::StatusOr<fw_counter_value> SumPerCpu(int map_fd, const void* key, const char* map,
                                           bool missing_is_zero) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return BpfError(cpus, "count possible CPUs");
  std::vector<fw_counter_value> values(cpus);
  static_assert(sizeof(fw_counter_value) % 8 == 0);
  fw_counter_value total{};
  if (bpf_map_lookup_elem(map_fd, key, values.data()) != 0) {
    if (errno == ENOENT && missing_is_zero) return total;
    return BpfError(errno, absl::StrCat("read map ", map));
  }
  for (const fw_counter_value& value : values) {
    total.packets += value.packets;
    total.bytes += value.bytes;
  }
  return total;
}

}  // namespace

absl::StatusOr<fw_counter_value> ReadEndpointCounter(const Datapath& datapath,
                                                     const compiler::IpAddress& endpoint,
                                                     fw_direction direction,
                                                     fw_reason reason) {
  return ReadEndpointCounter(datapath.map_fd(DatapathMap::kCounters), endpoint, direction,
                             reason);
}

absl::StatusOr<fw_counter_value> ReadEndpointCounter(int counters_fd,
                                                     const compiler::IpAddress& endpoint,
                                                     fw_direction direction,
                                                     fw_reason reason) {
  fw_counter_key key{};
  key.endpoint = compiler::ToAbi(endpoint);
  key.direction = direction;
  key.reason = reason;
  return SumPerCpu(counters_fd, &key,
                   MapPinName(DatapathMap::kCounters), /*missing_is_zero=*/true);
}

absl::StatusOr<fw_counter_value> ReadStat(const Datapath& datapath, uint32_t index) {
  if (index >= FW_STATS_COUNT) {
    return absl::InvalidArgumentError(
        absl::StrCat("stat index ", index, " is past FW_STATS_COUNT ", FW_STATS_COUNT));
  }
  return SumPerCpu(datapath.map_fd(DatapathMap::kStats), &index,
                   MapPinName(DatapathMap::kStats), /*missing_is_zero=*/false);
}

absl::StatusOr<std::vector<fw_counter_value>> ReadReasonTotals(const Datapath& datapath) {
  std::vector<fw_counter_value> totals;
  totals.reserve(FW_REASON_COUNT);
  for (uint32_t reason = 0; reason < FW_REASON_COUNT; ++reason) {
    absl::StatusOr<fw_counter_value> total = ReadStat(datapath, FW_STAT_REASON_FIRST + reason);
    if (!total.ok()) return total.status();
    totals.push_back(*total);
  }
  return totals;
}

namespace {

absl::StatusOr<bpf_map_info> MapInfo(const Datapath& datapath, DatapathMap map) {
  bpf_map_info info{};
  uint32_t length = sizeof(info);
  if (const int error = bpf_obj_get_info_by_fd(datapath.map_fd(map), &info, &length);
      error != 0) {
    return BpfError(error, absl::StrCat("get info of map ", MapPinName(map)));
  }
  return info;
}

}  // namespace

absl::StatusOr<uint32_t> MapCapacity(const Datapath& datapath, DatapathMap map) {
  absl::StatusOr<bpf_map_info> info = MapInfo(datapath, map);
  if (!info.ok()) return info.status();
  return info->max_entries;
}

absl::StatusOr<uint64_t> CountMapEntries(const Datapath& datapath, DatapathMap map) {
  absl::StatusOr<bpf_map_info> info = MapInfo(datapath, map);
  if (!info.ok()) return info.status();
  switch (info->type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("map ", MapPinName(map), " has no countable keys (type ", info->type, ")"));
  }
  return CountMapKeys(datapath.map_fd(map), *info, MapPinName(map));
}

absl::StatusOr<uint64_t> CountMapKeys(int fd, const bpf_map_info& info, const std::string& name) {
  std::vector<uint8_t> key(info.key_size);
  std::vector<uint8_t> next(info.key_size);
  const void* previous = nullptr;
  uint64_t count = 0;
  while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
    ++count;
    key.swap(next);
    previous = key.data();
  }
  if (errno != ENOENT) return BpfError(errno, absl::StrCat("iterate map ", name));
  // A key deleted under the walk (LRU eviction, expiry) makes the kernel restart from the
  // first key, so a busy map can be over-counted: never past its capacity.
  return std::min<uint64_t>(count, info.max_entries);
}

absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& datapath) {
  const int fd = datapath.map_fd(DatapathMap::kConntrack);
  std::vector<ConntrackEntry> entries;
  fw_ct_key key{};
  fw_ct_key next{};
  const void* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    ConntrackEntry entry{next, {}};
    // An entry evicted between the two calls is simply skipped.
    if (bpf_map_lookup_elem(fd, &next, &entry.value) == 0) entries.push_back(entry);
    key = next;
    previous = &key;
  }
  if (errno != ENOENT) {
    return BpfError(errno, absl::StrCat("iterate map ", FW_PIN_CONNTRACK));
  }
  return entries;
}

}  // namespace flatwall::agent
