#include "agent/datapath_stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

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
  fw_counter_key key{};
  std::memcpy(key.endpoint.bytes, endpoint.bytes().data(), sizeof(key.endpoint.bytes));
  key.direction = direction;
  key.reason = reason;
  return SumPerCpu(datapath.map_fd(DatapathMap::kCounters), &key,
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
