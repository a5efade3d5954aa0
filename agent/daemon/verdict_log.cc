#include "agent/daemon/verdict_log.h"

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/verdict_names.h"

namespace flatwall::agent {
namespace {

template <typename T, typename Key, typename Projection>
const T* FindSorted(const std::vector<T>& table, const Key& key, Projection projection) {
  auto it = std::lower_bound(table.begin(), table.end(), key,
                             [&](const T& entry, const Key& k) { return projection(entry) < k; });
  if (it == table.end() || !(projection(*it) == key)) return nullptr;
  return &*it;
}

bool IsZero(const fw_addr& addr) {
  static constexpr fw_addr kZero{};
  return std::memcmp(&addr, &kZero, sizeof(addr)) == 0;
}

bool HasPorts(uint8_t protocol) {
  return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_SCTP;
}

std::string ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP: return "TCP";
    case IPPROTO_UDP: return "UDP";
    case IPPROTO_SCTP: return "SCTP";
    case IPPROTO_ICMP: return "ICMP";
    case IPPROTO_ICMPV6: return "ICMPv6";
  }
  return absl::StrCat(protocol);  // the IANA number, e.g. "47"
}

// One end of the packet. `identity` is the one the datapath looked up for this end, or 0
// when it ran no lookup: then the snapshot's IP cache supplies it, so an allowed packet
// of an unisolated pod is attributed as well as a judged one. `service` marks the
// destination of a packet the datapath deferred to the Service's backend: an address
// that is no pod is then the Service's.
nlohmann::json EndToJson(const fw_addr& addr, __be16 port, uint8_t protocol,
                         uint32_t identity, bool service, const VerdictSnapshot& snapshot) {
  nlohmann::json end = nlohmann::json::object();
  const compiler::IpAddress address = compiler::FromAbi(addr);
  end["ip"] = address.ToString();
  if (HasPorts(protocol)) end["port"] = ntohs(port);
  if (IsZero(addr)) {
    end["kind"] = "unknown";  // dropped before the address was parsed
    return end;
  }
  if (identity == FW_IDENTITY_UNKNOWN) identity = snapshot.IdentityOf(address);

  const compiler::PodAddressInfo* pod = snapshot.FindPod(address);
  const compiler::EndpointInfo* endpoint = snapshot.FindEndpoint(address);
  const compiler::IdentityInfo* info =
      identity >= FW_IDENTITY_FIRST_POD ? snapshot.FindIdentity(identity) : nullptr;
  if (identity == FW_IDENTITY_HOST) {
    end["kind"] = "node";
  } else if (pod != nullptr || endpoint != nullptr || identity >= FW_IDENTITY_FIRST_POD) {
    end["kind"] = "pod";
  } else {
    end["kind"] = service ? "service" : "external";
  }
  auto name_pod = [&](const std::string& pod_namespace, const std::string& pod_name,
                      const std::string& uid, const std::string& node) {
    end["namespace"] = pod_namespace;
    end["name"] = pod_name;
    if (!uid.empty()) end["uid"] = uid;
    if (!node.empty()) end["node"] = node;
  };
  if (pod != nullptr) {
    name_pod(pod->pod_namespace, pod->pod_name, pod->pod_uid, pod->node_name);
  } else if (endpoint != nullptr) {
    name_pod(endpoint->pod_namespace, endpoint->pod_name, endpoint->pod_uid,
             snapshot.node_name());
  } else if (info != nullptr) {
    end["namespace"] = info->namespace_name;
  }
  if (info != nullptr) end["labels"] = info->labels.ToMap();
  return end;
}

bool IsIcmp(uint8_t protocol) {
  return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
}

// {"type", "code", "echo_id"} of an ICMP or ICMPv6 packet; the identifier only for echo
// requests and replies, whose identifier the datapath puts in the ports. Empty when the
// datapath did not read the header (FW_EVENT_ICMP_UNREAD): "0/0" would claim an echo reply.
nlohmann::json IcmpFields(const fw_event& event) {
  nlohmann::json icmp = nlohmann::json::object();
  if (event.icmp_type == FW_EVENT_ICMP_UNREAD && event.icmp_code == FW_EVENT_ICMP_UNREAD) {
    return icmp;
  }
  icmp["type"] = event.icmp_type;
  icmp["code"] = event.icmp_code;
  const uint8_t type = event.icmp_type;
  const bool echo = event.protocol == IPPROTO_ICMP
                        ? type == ICMP_ECHO || type == ICMP_ECHOREPLY
                        : type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
  if (echo) icmp["echo_id"] = ntohs(event.sport);
  return icmp;
}

// The isolating policies as the compiler names them ("namespace/name"), each as an object
// with the uid and generation the snapshot knows.
nlohmann::json IsolatingPolicies(const std::vector<std::string>& keys,
                                 const VerdictSnapshot& snapshot) {
  nlohmann::json policies = nlohmann::json::array();
  for (const std::string& key : keys) {
    const size_t slash = key.find('/');  // namespaces hold no '/'
    const std::string policy_namespace = slash == std::string::npos ? "" : key.substr(0, slash);
    const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
    nlohmann::json policy = {{"namespace", policy_namespace}, {"name", name}};
    if (const compiler::PolicyInfo* info = snapshot.FindPolicy(policy_namespace, name);
        info != nullptr) {
      if (!info->policy_uid.empty()) policy["uid"] = info->policy_uid;
      policy["generation"] = info->policy_generation;
    }
    policies.push_back(std::move(policy));
  }
  return policies;
}

// The TCP header's flags by name, in bit order: ["SYN", "ACK"].
nlohmann::json TcpFlagNames(uint8_t flags) {
  static constexpr const char* kNames[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
  nlohmann::json names = nlohmann::json::array();
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (1u << bit)) names.push_back(kNames[bit]);
  }
  return names;
}

// The fields every record starts with.
nlohmann::json RecordHeader(absl::Time time, const std::string& node, const char* reason) {
  nlohmann::json record = nlohmann::json::object();
  record["schema"] = kVerdictLogSchema;
  record["time"] = FormatRfc3339Nanos(time);
  record["node"] = node;
  if (reason != nullptr) record["reason"] = reason;
  return record;
}

// The address the kernel charged the event to (the local pod of the decision), as the
// rate limit's bucket key: the zero address for drops it charges to no pod.
fw_addr ChargedEndpoint(const fw_event& event, const VerdictSnapshot& snapshot) {
  const fw_addr& local = event.direction == FW_DIR_INGRESS ? event.daddr : event.saddr;
  if (event.reason == FW_REASON_SPOOFED ||
      snapshot.FindEndpoint(compiler::FromAbi(local)) == nullptr) {
    return fw_addr{};
  }
  return local;
}

}  // namespace

VerdictSnapshot::VerdictSnapshot(const compiler::MapImage& image, std::string node_name)
    : node_name_(std::move(node_name)),
      rules_(image.rule_table),
      identities_(image.identities),
      endpoints_(image.endpoint_info),
      pods_(image.pod_addresses),
      ipcache_(image.ipcache),
      policies_(image.policy_table) {
  std::sort(rules_.begin(), rules_.end(),
            [](const auto& a, const auto& b) { return a.rule_id < b.rule_id; });
  std::sort(identities_.begin(), identities_.end(),
            [](const auto& a, const auto& b) { return a.identity < b.identity; });
  std::sort(endpoints_.begin(), endpoints_.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  std::sort(pods_.begin(), pods_.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  std::sort(ipcache_.begin(), ipcache_.end(), [](const auto& a, const auto& b) {
    return compiler::AbiLess(a.key, b.key);
  });
  std::sort(policies_.begin(), policies_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.policy_namespace, a.policy_name) <
           std::tie(b.policy_namespace, b.policy_name);
  });
}

const compiler::RuleInfo* VerdictSnapshot::FindRule(uint32_t rule_id) const {
  return FindSorted(rules_, rule_id, [](const compiler::RuleInfo& r) { return r.rule_id; });
}

const compiler::IdentityInfo* VerdictSnapshot::FindIdentity(uint32_t identity) const {
  return FindSorted(identities_, identity,
                    [](const compiler::IdentityInfo& i) { return i.identity; });
}

const compiler::EndpointInfo* VerdictSnapshot::FindEndpoint(
    const compiler::IpAddress& address) const {
  return FindSorted(endpoints_, address,
                    [](const compiler::EndpointInfo& e) { return e.address; });
}

const compiler::PodAddressInfo* VerdictSnapshot::FindPod(
    const compiler::IpAddress& address) const {
  return FindSorted(pods_, address, [](const compiler::PodAddressInfo& p) { return p.address; });
}

const compiler::PolicyInfo* VerdictSnapshot::FindPolicy(const std::string& policy_namespace,
                                                         const std::string& policy_name) const {
  return FindSorted(policies_, std::tie(policy_namespace, policy_name),
                    [](const compiler::PolicyInfo& p) {
                      return std::tie(p.policy_namespace, p.policy_name);
                    });
}

uint32_t VerdictSnapshot::IdentityOf(const compiler::IpAddress& address) const {
  const compiler::IpcacheEntry* entry =
      FindSorted(ipcache_, address,
                 [](const compiler::IpcacheEntry& e) { return compiler::FromAbi(e.key.addr); });
  return entry == nullptr ? static_cast<uint32_t>(FW_IDENTITY_UNKNOWN) : entry->value.identity;
}

absl::StatusOr<ClockOffset> ReadClockOffset() {
  timespec before{}, realtime{}, after{};
  if (clock_gettime(CLOCK_MONOTONIC, &before) != 0 ||
      clock_gettime(CLOCK_REALTIME, &realtime) != 0 ||
      clock_gettime(CLOCK_MONOTONIC, &after) != 0) {
    return absl::InternalError(absl::StrCat("clock_gettime: ", std::strerror(errno)));
  }
  const absl::Duration monotonic =
      (absl::DurationFromTimespec(before) + absl::DurationFromTimespec(after)) / 2;
  return ClockOffset{absl::DurationFromTimespec(realtime) - monotonic};
}

absl::Time MonotonicToWall(uint64_t monotonic_ns, const ClockOffset& offset) {
  return absl::UnixEpoch() + absl::Nanoseconds(monotonic_ns) + offset.realtime_minus_monotonic;
}

std::string VerdictLabel(int verdict) {
  return absl::AsciiStrToLower(std::string(VerdictName(verdict)));
}

std::string FormatRfc3339Nanos(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E9SZ", time, absl::UTCTimeZone());
}

nlohmann::json VerdictEventToJson(const fw_event& event, const VerdictSnapshot& snapshot,
                                  const ClockOffset& offset) {
  // Direction is the local pod's: ingress judges the destination, egress the source.
  const bool local_is_destination = event.direction == FW_DIR_INGRESS;
  const uint32_t src_identity =
      local_is_destination ? event.remote_identity : event.local_identity;
  const uint32_t dst_identity =
      local_is_destination ? event.local_identity : event.remote_identity;
  const bool to_service = event.reason == FW_REASON_SERVICE_DEFERRED;

  nlohmann::json line = RecordHeader(MonotonicToWall(event.timestamp_ns, offset),
                                     snapshot.node_name(), nullptr);
  line["verdict"] = VerdictLabel(event.verdict);
  line["reason"] = std::string(ReasonName(event.reason));
  line["direction"] = DirectionName(event.direction);
  line["hook"] = std::string(HookName(event.hook));
  line["protocol"] = ProtocolName(event.protocol);
  line["src"] =
      EndToJson(event.saddr, event.sport, event.protocol, src_identity, false, snapshot);
  line["dst"] =
      EndToJson(event.daddr, event.dport, event.protocol, dst_identity, to_service, snapshot);
  if (IsIcmp(event.protocol)) {
    if (nlohmann::json icmp = IcmpFields(event); !icmp.empty()) line["icmp"] = std::move(icmp);
  }

  if (event.protocol == IPPROTO_TCP && event.tcp_flags != 0) {
    line["tcp_flags"] = TcpFlagNames(event.tcp_flags);
  }

  if (event.rule_id != 0) {
    nlohmann::json policy = {{"rule_id", event.rule_id}};
    if (const compiler::RuleInfo* rule = snapshot.FindRule(event.rule_id); rule != nullptr) {
      policy["namespace"] = rule->policy_namespace;
      policy["name"] = rule->policy_name;
      if (!rule->policy_uid.empty()) policy["uid"] = rule->policy_uid;
      policy["generation"] = rule->policy_generation;
      policy["direction"] = DirectionName(rule->direction);
      policy["index"] = rule->rule_index;
    }
    line["policy"] = std::move(policy);
  }
  // No rule allows the packet (any more): the policies that isolate the pod are the answer
  // to "why denied".
  if ((event.reason == FW_REASON_DEFAULT_DENY || event.reason == FW_REASON_REVOKED) &&
      event.direction < FW_DIR_COUNT) {
    const fw_addr& local = local_is_destination ? event.daddr : event.saddr;
    if (const compiler::EndpointInfo* endpoint = snapshot.FindEndpoint(compiler::FromAbi(local));
        endpoint != nullptr) {
      line["isolated_by"] =
          IsolatingPolicies(endpoint->isolating_policies[event.direction], snapshot);
    }
  }

  line["identities"] = {{"local", event.local_identity}, {"remote", event.remote_identity}};
  if (event.cidr_class != 0) line["cidr_class"] = event.cidr_class;
  line["packets"] = 1;
  line["bytes"] = event.packet_len;
  line["ifindex"] = event.ifindex;
  return line;
}

std::optional<nlohmann::json> SuppressedRecord(const fw_event& event,
                                               const VerdictSnapshot& snapshot,
                                               const ClockOffset& offset) {
  if (event.suppressed == 0) return std::nullopt;
  nlohmann::json record = RecordHeader(MonotonicToWall(event.timestamp_ns, offset),
                                       snapshot.node_name(), "SUPPRESSED");
  const fw_addr endpoint = ChargedEndpoint(event, snapshot);
  if (IsZero(endpoint)) {
    record["endpoint"] = {{"kind", "unattributed"}};
  } else {
    record["endpoint"] =
        EndToJson(endpoint, 0, IPPROTO_IP, FW_IDENTITY_UNKNOWN, false, snapshot);
  }
  record["count"] = event.suppressed;
  return record;
}

nlohmann::json StartupRecord(const std::string& node_name, absl::Time now) {
  return RecordHeader(now, node_name, "STARTUP");
}

}  // namespace flatwall::agent
