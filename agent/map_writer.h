// Writing the compiler's tables into the pinned maps: a MapDiff in the make-before-break
// order map_image.h documents, followed by a policy-generation bump that makes every
// tracked flow be re-judged against the new tables at its next packet; plus the entries
// the agent owns itself (Service addresses, the node's own addresses in the IP cache).
//
// Not here: computing diffs (policy-compiler/map_image.h), loading maps (datapath.h).
#ifndef FLATWALL_AGENT_MAP_WRITER_H_
#define FLATWALL_AGENT_MAP_WRITER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/map_image.h"

namespace flatwall::agent {

class MapWriter {
 public:
  // `datapath` must outlive the writer.
  explicit MapWriter(const Datapath& datapath) : datapath_(datapath) {}

  // Applies `diff`: 1. rule upserts; 2. CIDR, IP-cache, endpoint upserts; 3. endpoint,
  // IP-cache, CIDR, rule deletes (with the deleted endpoints' counters); then bumps the
  // generation. A packet never sees an endpoint pointing at a ruleset not yet written.
  // Errors: ResourceExhausted naming the map when it is full; others from the kernel.
  // On error nothing later in the order is written and the generation is not bumped;
  // the diff can be retried as a whole (upserts and deletes are idempotent).
  absl::Status Apply(const compiler::MapDiff& diff);

  // One map at a time, same semantics: upsert adds or replaces, delete ignores missing
  // keys. They do not bump the generation.
  absl::Status Upsert(const std::vector<compiler::RuleEntry>& entries);
  absl::Status Upsert(const std::vector<compiler::CidrEntry>& entries);
  absl::Status Upsert(const std::vector<compiler::IpcacheEntry>& entries);
  absl::Status Upsert(const std::vector<compiler::EndpointEntry>& entries);
  absl::Status Delete(const std::vector<fw_rule_key>& keys);
  absl::Status Delete(const std::vector<fw_cidr_key>& keys);
  absl::Status Delete(const std::vector<fw_ipcache_key>& keys);
  // Also deletes the endpoints' fw_counters_v1 entries, so a reused pod IP starts at 0.
  absl::Status Delete(const std::vector<fw_endpoint_key>& keys);

  // ClusterIPs whose new flows the from-pod hook defers to the backend (fw_services_v1).
  absl::Status UpsertServices(const std::vector<compiler::IpAddress>& cluster_ips);
  absl::Status DeleteServices(const std::vector<compiler::IpAddress>& cluster_ips);

  // Increments fw_config.generation (never to 0) and returns the new value.
  absl::StatusOr<uint32_t> BumpGeneration();

 private:
  template <typename Key, typename Value>
  absl::Status UpsertRaw(DatapathMap map, const Key& key, const Value& value);
  template <typename Key>
  absl::Status DeleteRaw(DatapathMap map, const Key& key);

  const Datapath& datapath_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_MAP_WRITER_H_
