// The verdict log's content: turning one datapath verdict event (abi/event.h) into one
// JSON record (schema version 3, docs/verdict-log.md) that names the pods of both ends
// (uid, labels), the policy rule that allowed the packet or the policies that isolate
// the pod for a default deny (uid, generation); the record that reports events the
// kernel suppressed; the record that marks an agent start. Pure: event + snapshot (+ the
// clock offset) in, JSON out.
//
// Not here: `seq` and `prev_hash` (verdict_chain.h), aggregation (verdict_aggregator.h),
// which snapshot an event is read with (verdict_history.h), reading events
// (agent/event_reader.h), writing lines to files (verdict_log_writer.h).
#ifndef FLATWALL_AGENT_DAEMON_VERDICT_LOG_H_
#define FLATWALL_AGENT_DAEMON_VERDICT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "abi/event.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/map_image.h"

namespace flatwall::agent {

inline constexpr int kVerdictLogSchema = 3;

// Who is who at one moment: the name tables of the enforced map image (copied, so the
// reconciler may move on to the next image while events of this one are written) and
// the node name. Immutable once built; share it as std::shared_ptr<const ...>.
class VerdictSnapshot {
 public:
  VerdictSnapshot() = default;
  // Copies the info tables and the IP cache of `image` (sorting them, so a hand-built
  // image works as well as the compiler's sorted one).
  VerdictSnapshot(const compiler::MapImage& image, std::string node_name);

  const std::string& node_name() const { return node_name_; }
  // nullptr when the snapshot does not know the id or address.
  const compiler::RuleInfo* FindRule(uint32_t rule_id) const;
  const compiler::IdentityInfo* FindIdentity(uint32_t identity) const;
  const compiler::EndpointInfo* FindEndpoint(const compiler::IpAddress& address) const;
  const compiler::PodAddressInfo* FindPod(const compiler::IpAddress& address) const;
  const compiler::PolicyInfo* FindPolicy(const std::string& policy_namespace,
                                         const std::string& policy_name) const;
  // The identity the IP cache gives the address; 0 when absent.
  uint32_t IdentityOf(const compiler::IpAddress& address) const;

 private:
  std::string node_name_;
  std::vector<compiler::RuleInfo> rules_;
  std::vector<compiler::IdentityInfo> identities_;
  std::vector<compiler::EndpointInfo> endpoints_;
  std::vector<compiler::PodAddressInfo> pods_;
  std::vector<compiler::IpcacheEntry> ipcache_;
  std::vector<compiler::PolicyInfo> policies_;
};

// Event timestamps are bpf_ktime_get_ns(): CLOCK_MONOTONIC. The wall time of a monotonic
// instant is that instant plus (CLOCK_REALTIME - CLOCK_MONOTONIC), measured now; the
// offset moves only when the wall clock is stepped, so one reading serves a batch.
struct ClockOffset {
  absl::Duration realtime_minus_monotonic;
};
// Reads both clocks (the monotonic one twice, around the realtime reading, to halve the
// error of being descheduled in between). Internal when clock_gettime fails.
absl::StatusOr<ClockOffset> ReadClockOffset();
absl::Time MonotonicToWall(uint64_t monotonic_ns, const ClockOffset& offset);
// "allow" or "deny" ("unknown" outside the enum): a verdict as the log and the metrics'
// labels spell it.
std::string VerdictLabel(int verdict);

// RFC 3339 in UTC with nanoseconds: "2026-11-26T15:31:13.000000123Z".
std::string FormatRfc3339Nanos(absl::Time time);

// The verdict record for `event` (one packet: "packets": 1), as documented in
// docs/verdict-log.md, without `seq` and `prev_hash`. Fields that the snapshot cannot
// fill (unknown identity, address not a known pod, rule id not in the rule table) are
// left out rather than guessed; the raw numbers are always present. The event's
// `suppressed` count is not part of it: see SuppressedRecord.
nlohmann::json VerdictEventToJson(const fw_event& event, const VerdictSnapshot& snapshot,
                                  const ClockOffset& offset);

// The "SUPPRESSED" record for the events the kernel's rate limit (or a full ring buffer)
// dropped for the endpoint that `event` was charged to, just before `event`; nullopt when
// `event.suppressed` is 0. The kernel counts them per endpoint, not per reason, so the
// record names the endpoint and the count, not their verdicts.
std::optional<nlohmann::json> SuppressedRecord(const fw_event& event,
                                               const VerdictSnapshot& snapshot,
                                               const ClockOffset& offset);

// The "STARTUP" record an agent writes when it starts reading events: the datapath emits
// no events while no reader is attached, so verdicts between the previous record and this
// one are in the kernel's counters only.
nlohmann::json StartupRecord(const std::string& node_name, absl::Time now);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_VERDICT_LOG_H_
