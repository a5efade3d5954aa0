// `flatwall status`: what a node's pinned datapath holds and where its programs run —
// the policy generation, each map's fill level, the endpoints, identity and rule counts,
// conntrack entries and whether they count packets, and the attach state of every pod
// veth and the uplink.
//
// Read-only by construction: the maps are opened read-only through their pins
// (agent/pinned_maps.h) and the programs by their pin paths, never through
// Datapath::Load, which would load programs and replace the program pins of a running agent.
#include <bpf/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "abi/datapath_maps.h"
#include "abi/policy_maps.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/bpf_error.h"
#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/image_format.h"
#include "agent/datapath.h"
#include "agent/datapath_stats.h"
#include "agent/host_routes.h"
#include "agent/map_entries.h"
#include "agent/pinned_maps.h"
#include "agent/tc_attacher.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/map_image.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::cli {
namespace {

using agent::DatapathMap;
using nlohmann::json;

constexpr char kUsage[] = "usage: flatwall status [--bpffs-root DIR] [-o text|json]\n";
constexpr char kDefaultRoot[] = "/sys/fs/bpf/flatwall";

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

struct MapStatus {
  std::string name;
  bool pinned = false;
  uint32_t capacity = 0;
  // Keys present; empty for arrays and the ring buffer, whose slots always exist.
  std::optional<uint64_t> entries;
};

struct EndpointStatus {
  compiler::IpAddress address;
  fw_endpoint_value value;
};

struct VethStatus {
  std::string name;
  int ifindex = 0;
  std::vector<compiler::IpAddress> routed;  // the pod addresses routed to it
  bool from_pod = false;
  bool to_pod = false;
};

struct UplinkStatus {
  std::string name;
  int ifindex = 0;
  bool attached = false;
};

struct NodeStatus {
  std::string root;
  uint32_t generation = 0;
  std::vector<MapStatus> maps;
  std::vector<EndpointStatus> endpoints;
  size_t identities = 0;
  uint64_t rules = 0;
  uint64_t conntrack = 0;
  uint64_t conntrack_expired = 0;  // within conntrack: past their lifetime, not yet reused
  bool conntrack_accounting = false;  // fw_config has FW_CFG_CT_ACCOUNTING
  std::vector<VethStatus> veths;
  std::optional<UplinkStatus> uplink;
};

bool HasCountableKeys(uint32_t type) {
  return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LPM_TRIE;
}

// The kernel id of the program pinned for `hook`; 0 when it is not pinned.
absl::StatusOr<uint32_t> PinnedProgramId(const std::string& root, fw_hook hook) {
  Fd fd(bpf_obj_get(absl::StrCat(root, "/", agent::ProgramPinName(hook)).c_str()));
  if (!fd.valid()) {
    if (errno == ENOENT) return 0u;
    return agent::BpfError(errno, absl::StrCat("open program pin ", agent::ProgramPinName(hook)));
  }
  bpf_prog_info info{};
  uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) {
    return agent::BpfError(errno, absl::StrCat("read program ", agent::ProgramPinName(hook)));
  }
  return info.id;
}

std::string InterfaceName(int ifindex) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, name) != nullptr ? name : absl::StrCat("ifindex ", ifindex);
}

// Whether Flatwall's filter slot of the hook runs program `id` (0: never).
absl::StatusOr<bool> Runs(int ifindex, agent::TcHook hook, uint32_t id) {
  FW_ASSIGN_OR_RETURN(const agent::TcProgram program, agent::AttachedTcProgram(ifindex, hook));
  return id != 0 && program.id == id;
}

absl::Status ReadAttachments(NodeStatus& status) {
  FW_ASSIGN_OR_RETURN(const uint32_t from_pod, PinnedProgramId(status.root, FW_HOOK_FROM_POD));
  FW_ASSIGN_OR_RETURN(const uint32_t to_pod, PinnedProgramId(status.root, FW_HOOK_TO_POD));
  FW_ASSIGN_OR_RETURN(const uint32_t uplink, PinnedProgramId(status.root, FW_HOOK_UPLINK));
  FW_ASSIGN_OR_RETURN(const agent::HostRoutes routes, agent::HostRouteInterfaces());
  std::map<int, std::vector<compiler::IpAddress>> by_veth;
  for (const auto& [address, ifindex] : routes) by_veth[ifindex].push_back(address);
  for (const auto& [ifindex, addresses] : by_veth) {
    VethStatus veth{InterfaceName(ifindex), ifindex, addresses};
    FW_ASSIGN_OR_RETURN(veth.from_pod, Runs(ifindex, agent::TcHook::kIngress, from_pod));
    FW_ASSIGN_OR_RETURN(veth.to_pod, Runs(ifindex, agent::TcHook::kEgress, to_pod));
    status.veths.push_back(std::move(veth));
  }
  absl::StatusOr<int> uplink_ifindex = agent::DefaultRouteInterface();
  if (absl::IsNotFound(uplink_ifindex.status())) return absl::OkStatus();
  if (!uplink_ifindex.ok()) return uplink_ifindex.status();
  UplinkStatus up{InterfaceName(*uplink_ifindex), *uplink_ifindex};
  FW_ASSIGN_OR_RETURN(up.attached, Runs(*uplink_ifindex, agent::TcHook::kEgress, uplink));
  status.uplink = up;
  return absl::OkStatus();
}

// The programs stamp entries with bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE.
uint64_t CoarseNowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

// Reads everything under `root`. NotFound when no Flatwall map is pinned there.
absl::StatusOr<NodeStatus> ReadStatus(const std::string& root) {
  NodeStatus status;
  status.root = root;
  absl::StatusOr<std::unique_ptr<agent::PinnedMaps>> pinned = agent::PinnedMaps::Open(root);
  if (absl::IsNotFound(pinned.status())) {
    return absl::NotFoundError(
        absl::StrCat("no Flatwall state under ", root, ": is the agent running?"));
  }
  if (!pinned.ok()) return pinned.status();
  std::map<DatapathMap, int> fds;
  for (const DatapathMap map : agent::kAllDatapathMaps) {
    MapStatus entry;
    entry.name = agent::MapPinName(map);
    if (const int fd = (*pinned)->map_fd(map); fd >= 0) {
      bpf_map_info info{};
      uint32_t length = sizeof(info);
      if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) {
        return agent::BpfError(errno, absl::StrCat("read map ", entry.name));
      }
      entry.pinned = true;
      entry.capacity = info.max_entries;
      if (HasCountableKeys(info.type)) {
        FW_ASSIGN_OR_RETURN(entry.entries, agent::CountMapKeys(fd, info, entry.name));
      }
      fds.emplace(map, fd);
    }
    if (map == DatapathMap::kRules || map == DatapathMap::kRuleRanges) {
      status.rules += entry.entries.value_or(0);
    } else if (map == DatapathMap::kConntrack) {
      status.conntrack = entry.entries.value_or(0);
    }
    status.maps.push_back(entry);
  }
  if (fds.contains(DatapathMap::kConfig)) {
    FW_ASSIGN_OR_RETURN(const fw_config config, (*pinned)->ReadConfig());
    status.generation = config.generation;
    status.conntrack_accounting = (config.flags & FW_CFG_CT_ACCOUNTING) != 0;
  }
  if (auto it = fds.find(DatapathMap::kEndpoints); it != fds.end()) {
    FW_RETURN_IF_ERROR((agent::ForEachMapEntry<fw_endpoint_key, fw_endpoint_value>(
        it->second, FW_PIN_ENDPOINTS,
        [&](const fw_endpoint_key& key, const fw_endpoint_value& value) {
          status.endpoints.push_back({compiler::FromAbi(key.addr), value});
        })));
    std::sort(status.endpoints.begin(), status.endpoints.end(),
              [](const EndpointStatus& a, const EndpointStatus& b) {
                return a.address < b.address;
              });
  }
  if (auto it = fds.find(DatapathMap::kConntrack); it != fds.end()) {
    const uint64_t now = CoarseNowNs();
    FW_RETURN_IF_ERROR((agent::ForEachMapEntry<fw_ct_key, fw_ct_value>(
        it->second, FW_PIN_CONNTRACK, [&](const fw_ct_key& key, const fw_ct_value& value) {
          // Signed, as in the programs: another CPU may stamp an entry after our clock read.
          const auto age = static_cast<int64_t>(now - value.last_seen_ns);
          if (age > static_cast<int64_t>(fw_ct_lifetime_ns(&value, key.protocol))) {
            ++status.conntrack_expired;
          }
        })));
    status.conntrack_expired = std::min(status.conntrack_expired, status.conntrack);
  }
  // The kernel has no identity table: the identities are those the IP cache maps to.
  if (auto it = fds.find(DatapathMap::kIpcache); it != fds.end()) {
    std::set<uint32_t> identities;
    FW_RETURN_IF_ERROR((agent::ForEachMapEntry<fw_ipcache_key, fw_ipcache_value>(
        it->second, FW_PIN_IPCACHE,
        [&](const fw_ipcache_key&, const fw_ipcache_value& value) {
          identities.insert(value.identity);
        })));
    status.identities = identities.size();
  }
  FW_RETURN_IF_ERROR(ReadAttachments(status));
  return status;
}

std::string Hex(uint32_t value) { return absl::StrFormat("0x%08x", value); }

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string AddressList(const std::vector<compiler::IpAddress>& addresses) {
  return absl::StrJoin(addresses, ",", [](std::string* out, const compiler::IpAddress& a) {
    out->append(a.ToString());
  });
}

std::string FormatText(const NodeStatus& status) {
  std::string out = absl::StrCat("pin root: ", status.root, "\n", "policy generation: ",
                                 status.generation, "\n", "maps:\n");
  for (const MapStatus& map : status.maps) {
    if (!map.pinned) {
      absl::StrAppend(&out, absl::StrFormat("  %-16s not pinned\n", map.name));
    } else if (map.entries) {
      absl::StrAppend(&out, absl::StrFormat("  %-16s %llu/%u\n", map.name,
                                            static_cast<unsigned long long>(*map.entries),
                                            map.capacity));
    } else {
      absl::StrAppend(&out, absl::StrFormat("  %-16s -/%u\n", map.name, map.capacity));
    }
  }
  absl::StrAppend(&out, "endpoints: ", status.endpoints.size(), "\n");
  for (const EndpointStatus& endpoint : status.endpoints) {
    const fw_endpoint_value& value = endpoint.value;
    absl::StrAppend(&out, "  ", endpoint.address.ToString(), " identity ", Hex(value.identity),
                    " ruleset ", Hex(value.ruleset), " isolated ", DescribeIsolation(value.flags),
                    " rules ingress:", DescribeRuleKinds(value.rule_kinds[FW_DIR_INGRESS]),
                    " egress:", DescribeRuleKinds(value.rule_kinds[FW_DIR_EGRESS]), "\n");
  }
  absl::StrAppend(&out, "identities: ", status.identities, "\n", "rule entries: ", status.rules,
                  "\n", "conntrack entries: ", status.conntrack, " (",
                  status.conntrack - status.conntrack_expired, " live, ", status.conntrack_expired,
                  " expired)\n", "per-flow counters: ",
                  status.conntrack_accounting ? "on"
                                              : "off (flatwall-agent --conntrack-accounting)",
                  "\n");
  absl::StrAppend(&out, "pod veths: ", status.veths.size(), "\n");
  for (const VethStatus& veth : status.veths) {
    absl::StrAppend(&out, "  ", veth.name, " ifindex ", veth.ifindex, " routes ",
                    AddressList(veth.routed), " from-pod ", YesNo(veth.from_pod), " to-pod ",
                    YesNo(veth.to_pod), "\n");
  }
  if (status.uplink) {
    absl::StrAppend(&out, "uplink: ", status.uplink->name, " ifindex ", status.uplink->ifindex,
                    " attached ", YesNo(status.uplink->attached), "\n");
  } else {
    absl::StrAppend(&out, "uplink: none (no IPv4 default route)\n");
  }
  return out;
}

json FormatJson(const NodeStatus& status) {
  json maps = json::object();
  for (const MapStatus& map : status.maps) {
    json entry = {{"pinned", map.pinned}};
    if (map.pinned) {
      entry["capacity"] = map.capacity;
      entry["entries"] = map.entries ? json(*map.entries) : json(nullptr);
    }
    maps[map.name] = entry;
  }
  json endpoints = json::array();
  for (const EndpointStatus& endpoint : status.endpoints) {
    const fw_endpoint_value& value = endpoint.value;
    endpoints.push_back(
        {{"ip", endpoint.address.ToString()},
         {"identity", value.identity},
         {"ruleset", value.ruleset},
         {"isolated", DescribeIsolation(value.flags)},
         {"rule_kinds",
          {{"ingress", DescribeRuleKinds(value.rule_kinds[FW_DIR_INGRESS])},
           {"egress", DescribeRuleKinds(value.rule_kinds[FW_DIR_EGRESS])}}}});
  }
  json veths = json::array();
  for (const VethStatus& veth : status.veths) {
    json routed = json::array();
    for (const compiler::IpAddress& address : veth.routed) routed.push_back(address.ToString());
    veths.push_back({{"name", veth.name},
                     {"ifindex", veth.ifindex},
                     {"routes", routed},
                     {"from_pod", veth.from_pod},
                     {"to_pod", veth.to_pod}});
  }
  json uplink = nullptr;
  if (status.uplink) {
    uplink = {{"name", status.uplink->name},
              {"ifindex", status.uplink->ifindex},
              {"attached", status.uplink->attached}};
  }
  return {{"pin_root", status.root},
          {"generation", status.generation},
          {"maps", maps},
          {"endpoint_count", status.endpoints.size()},
          {"endpoints", endpoints},
          {"identities", status.identities},
          {"rule_entries", status.rules},
          {"conntrack_entries", status.conntrack},
          {"conntrack_expired", status.conntrack_expired},
          {"conntrack_accounting", status.conntrack_accounting},
          {"veths", veths},
          {"uplink", uplink}};
}

}  // namespace

int RunStatus(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> command_line =
      CommandLine::Parse(args, OptionSpec{{"bpffs-root", "o"}, {}});
  if (!command_line.ok() || !command_line->positional().empty()) {
    err << "flatwall status: "
        << (command_line.ok() ? "unexpected argument" : command_line.status().message())
        << "\n"
        << kUsage;
    return 2;
  }
  const std::string format = command_line->ValueOr("o", "text");
  if (format != "text" && format != "json") {
    err << "flatwall status: -o must be text or json\n" << kUsage;
    return 2;
  }
  absl::StatusOr<NodeStatus> status =
      ReadStatus(command_line->ValueOr("bpffs-root", kDefaultRoot));
  if (!status.ok()) {
    err << "flatwall status: " << status.status().message() << "\n";
    return 1;
  }
  if (format == "json") {
    out << FormatJson(*status).dump(2) << "\n";
  } else {
    out << FormatText(*status);
  }
  return 0;
}

}  // namespace flatwall::cli
