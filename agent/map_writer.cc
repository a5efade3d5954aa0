#include "agent/map_writer.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

#include "abi/verdict.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
using compiler::ToAbi;

template <typename Key, typename Value>
absl::Status MapWriter::UpsertRaw(DatapathMap map, const Key& key, const Value& value) {
  if (bpf_map_update_elem(datapath_.map_fd(map), &key, &value, BPF_ANY) != 0) {
    const int error = errno;
    // A full hash or trie answers E2BIG, whose text ("Argument list too long") misleads.
    return BpfError(error, absl::StrCat("write map ", MapPinName(map),
                                        error == E2BIG ? " (the map is full)" : ""));
  }
  return absl::OkStatus();
}

template <typename Key>
absl::Status MapWriter::DeleteRaw(DatapathMap map, const Key& key) {
  if (bpf_map_delete_elem(datapath_.map_fd(map), &key) != 0 && errno != ENOENT) {
    return BpfError(errno, absl::StrCat("delete from map ", MapPinName(map)));
  }
  return absl::OkStatus();
}

absl::Status MapWriter::Upsert(const std::vector<compiler::RuleEntry>& entries) {
  for (const auto& entry : entries) {
    FW_RETURN_IF_ERROR(UpsertRaw(RuleMapOf(entry.key), entry.key, entry.value));
  }
  return absl::OkStatus();
}

absl::Status MapWriter::Upsert(const std::vector<compiler::CidrEntry>& entries) {
  for (const auto& entry : entries) {
    FW_RETURN_IF_ERROR(UpsertRaw(DatapathMap::kCidrs, entry.key, entry.value));
  }
  return absl::OkStatus();
}

absl::Status MapWriter::Upsert(const std::vector<compiler::IpcacheEntry>& entries) {
  for (const auto& entry : entries) {
    FW_RETURN_IF_ERROR(UpsertRaw(DatapathMap::kIpcache, entry.key, entry.value));
  }
  return absl::OkStatus();
}

absl::Status MapWriter::Upsert(const std::vector<compiler::EndpointEntry>& entries) {
  for (const auto& entry : entries) {
    FW_RETURN_IF_ERROR(UpsertRaw(DatapathMap::kEndpoints, entry.key, entry.value));
  }
  return absl::OkStatus();
}

absl::Status MapWriter::Delete(const std::vector<fw_rule_key>& keys) {
  for (const auto& key : keys) FW_RETURN_IF_ERROR(DeleteRaw(RuleMapOf(key), key));
  return absl::OkStatus();
}

absl::Status MapWriter::Delete(const std::vector<fw_cidr_key>& keys) {
  for (const auto& key : keys) FW_RETURN_IF_ERROR(DeleteRaw(DatapathMap::kCidrs, key));
  return absl::OkStatus();
}

absl::Status MapWriter::Delete(const std::vector<fw_ipcache_key>& keys) {
  for (const auto& key : keys) FW_RETURN_IF_ERROR(DeleteRaw(DatapathMap::kIpcache, key));
  return absl::OkStatus();
}

absl::Status MapWriter::Delete(const std::vector<fw_endpoint_key>& keys) {
  for (const auto& key : keys) {
    FW_RETURN_IF_ERROR(DeleteRaw(DatapathMap::kEndpoints, key));
    for (uint8_t direction = 0; direction < FW_DIR_COUNT; ++direction) {
      for (uint8_t reason = 0; reason < FW_REASON_COUNT; ++reason) {
        fw_counter_key counter{};
        counter.endpoint = key.addr;
        counter.direction = direction;
        counter.reason = reason;
        FW_RETURN_IF_ERROR(DeleteRaw(DatapathMap::kCounters, counter));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status MapWriter::UpsertServices(const std::vector<compiler::IpAddress>& cluster_ips) {
  for (const auto& ip : cluster_ips) {
    const fw_service_key key{ToAbi(ip)};
    const fw_service_value value{FW_SVC_CLUSTER_IP};
    FW_RETURN_IF_ERROR(UpsertRaw(DatapathMap::kServices, key, value));
  }
  return absl::OkStatus();
}

absl::Status MapWriter::DeleteServices(const std::vector<compiler::IpAddress>& cluster_ips) {
  for (const auto& ip : cluster_ips) {
    FW_RETURN_IF_ERROR(DeleteRaw(DatapathMap::kServices, fw_service_key{ToAbi(ip)}));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> MapWriter::BumpGeneration() {
  FW_ASSIGN_OR_RETURN(fw_config config, datapath_.ReadConfig());
  config.generation = config.generation + 1 == 0 ? 1 : config.generation + 1;
  FW_RETURN_IF_ERROR(datapath_.WriteConfig(config));
  return config.generation;
}

absl::Status MapWriter::Apply(const compiler::MapDiff& diff) {
  // 1. New rulesets are complete before anything points at them.
  FW_RETURN_IF_ERROR(Upsert(diff.rules.upserts));
  // 2. Flip to the new state.
  FW_RETURN_IF_ERROR(Upsert(diff.cidrs.upserts));
  FW_RETURN_IF_ERROR(Upsert(diff.ipcache.upserts));
  FW_RETURN_IF_ERROR(Upsert(diff.endpoints.upserts));
  // 3. Drop what nothing points at any more.
  FW_RETURN_IF_ERROR(Delete(diff.endpoints.deletes));
  FW_RETURN_IF_ERROR(Delete(diff.ipcache.deletes));
  FW_RETURN_IF_ERROR(Delete(diff.cidrs.deletes));
  FW_RETURN_IF_ERROR(Delete(diff.rules.deletes));
  return BumpGeneration().status();
}

}  // namespace flatwall::agent
