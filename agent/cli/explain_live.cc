#include "agent/cli/explain_live.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "abi/verdict.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_flow_judge.h"
#include "agent/cli/flow_explanation.h"
#include "agent/cli/verdict_records.h"
#include "agent/datapath_stats.h"
#include "agent/pinned_maps.h"
#include "agent/pinned_tables.h"
#include "agent/verdict_names.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/compiler.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::cli {
namespace {

using compiler::IpAddress;
using compiler::MapImage;
using compiler::PolicyVerdict;
using nlohmann::json;

constexpr fw_direction kDirections[] = {FW_DIR_INGRESS, FW_DIR_EGRESS};

// The address of a record's end ({"ip": ...}), if it has a valid one.
std::optional<IpAddress> EndAddress(const json& end) {
  if (!end.is_object() || !end.contains("ip") || !end["ip"].is_string()) return std::nullopt;
  absl::StatusOr<IpAddress> address = IpAddress::Parse(end["ip"].get<std::string>());
  return address.ok() ? std::optional<IpAddress>(*address) : std::nullopt;
}

// Without manifests, a pod is named by the newest record that attributes one of its
// ends to it: the agent attributed it with the pod that owned the IP at the time.
absl::StatusOr<FlowEnd> ResolveFromRecords(const std::vector<json>& records,
                                           const std::string& text, const IpAddress* family_hint) {
  for (auto record = records.rbegin(); record != records.rend(); ++record) {
    for (const char* key : {"src", "dst", "endpoint"}) {
      auto end = record->find(key);
      if (end == record->end() || !end->is_object()) continue;
      if (absl::StrCat(FieldText(*end, "namespace"), "/", FieldText(*end, "name")) != text) {
        continue;
      }
      std::optional<IpAddress> address = EndAddress(*end);
      if (address && (family_hint == nullptr || address->is_v4() == family_hint->is_v4())) {
        return FlowEnd{text, *address};
      }
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no pod ", text,
      records.empty() ? ": name pods with the manifests (FILE...) or --verdict-log"
                      : " in the verdict log records: give the manifests (FILE...) to name it"));
}

absl::StatusOr<FlowEnd> ResolveLive(const NodeExplainRequest& request,
                                    const std::vector<json>& records, const std::string& text,
                                    const IpAddress* family_hint) {
  if (request.manifests != nullptr) return ResolveEnd(request.manifests->state, text, family_hint);
  if (text.find('/') != std::string::npos) return ResolveFromRecords(records, text, family_hint);
  return ResolveEnd(compiler::ClusterState(), text, family_hint);  // an IP address
}

// Both directions of the flow, whatever the client's ephemeral port: the request
// (from -> to:port) and its replies (to:port -> from). A SUPPRESSED record of either end
// belongs too: it counts events of the flow that may be missing from the log.
bool IsOfFlow(const json& record, const FlowEnd& from, const FlowEnd& to,
              const std::string& protocol, uint16_t port) {
  if (FieldText(record, "reason") == "SUPPRESSED") {
    std::optional<IpAddress> endpoint =
        record.contains("endpoint") ? EndAddress(record["endpoint"]) : std::nullopt;
    return endpoint == from.address || endpoint == to.address;
  }
  if (FieldText(record, "protocol") != protocol || !record.contains("src") ||
      !record.contains("dst")) {
    return false;
  }
  const json& src = record["src"];
  const json& dst = record["dst"];
  const std::optional<IpAddress> source = EndAddress(src);
  const std::optional<IpAddress> destination = EndAddress(dst);
  auto port_of = [](const json& end) {
    return end.contains("port") && end["port"].is_number_unsigned() ? end["port"].get<int>() : -1;
  };
  return (source == from.address && destination == to.address && port_of(dst) == port) ||
         (source == to.address && destination == from.address && port_of(src) == port);
}

// Every JSON record of the files, in chain order; lines that are no JSON object are
// skipped (`flatwall logs` reports them).
absl::StatusOr<std::vector<json>> ReadRecords(const std::vector<std::string>& paths) {
  FW_ASSIGN_OR_RETURN(const std::vector<LogLine> lines, ReadLogsInChainOrder(paths));
  std::vector<json> records;
  for (const LogLine& line : lines) {
    json record = json::parse(line.text, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) records.push_back(std::move(record));
  }
  return records;
}

struct CounterRow {
  std::string end;  // the endpoint's name in the request
  IpAddress address;
  fw_direction direction;
  int reason;
  fw_counter_value value;
};

// The non-zero counters of every end that is an endpoint on the node.
absl::StatusOr<std::vector<CounterRow>> ReadCounters(const agent::PinnedMaps& maps,
                                                     const std::vector<const FlowEnd*>& ends) {
  const int fd = maps.map_fd(agent::DatapathMap::kCounters);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(agent::MapPinName(agent::DatapathMap::kCounters),
                                            " is not pinned under ", maps.root()));
  }
  std::vector<CounterRow> rows;
  for (const FlowEnd* end : ends) {
    for (const fw_direction direction : kDirections) {
      for (int reason = 0; reason < FW_REASON_COUNT; ++reason) {
        FW_ASSIGN_OR_RETURN(const fw_counter_value value,
                            agent::ReadEndpointCounter(fd, end->address, direction,
                                                       static_cast<fw_reason>(reason)));
        if (value.packets != 0 || value.bytes != 0) {
          rows.push_back({end->name, end->address, direction, reason, value});
        }
      }
    }
  }
  return rows;
}

bool IsEndpoint(const MapImage& image, const IpAddress& address) {
  const fw_addr key = compiler::ToAbi(address);
  return std::any_of(image.endpoints.begin(), image.endpoints.end(),
                     [&](const compiler::EndpointEntry& entry) {
                       return compiler::AbiEqual(entry.key.addr, key);
                     });
}

std::string VerdictWord(const PolicyVerdict& verdict) {
  return verdict.verdict == FW_VERDICT_ALLOW ? "allow" : "DENY";
}

// Where the node's programs and the manifests' model disagree, on the sides the node
// decides (those of its endpoints: the other end's node decides the rest).
std::vector<std::string> Differences(const compiler::FlowVerdict& node,
                                     const compiler::FlowVerdict& model, bool from_local,
                                     bool to_local, const FlowEnd& from, const FlowEnd& to) {
  std::vector<std::string> differences;
  auto compare = [&](const PolicyVerdict& ours, const PolicyVerdict& theirs,
                     const std::string& side) {
    if (ours.verdict == theirs.verdict && ours.reason == theirs.reason) return;
    differences.push_back(absl::StrCat(side, ": node ", VerdictWord(ours), " (",
                                       std::string(agent::ReasonName(ours.reason)), "), files ",
                                       VerdictWord(theirs), " (",
                                       std::string(agent::ReasonName(theirs.reason)), ")"));
  };
  if (from_local) compare(node.egress, model.egress, "egress of " + from.name);
  if (to_local) compare(node.ingress, model.ingress, "ingress of " + to.name);
  return differences;
}

struct Explanation {
  FlowEnd from;
  FlowEnd to;
  std::string protocol;
  uint16_t port = 0;
  uint32_t generation = 0;
  bool from_local = false;
  bool to_local = false;
  MapImage node_image;  // the node's tables (no rule table: rules show as ids)
  compiler::FlowVerdict node;
  std::optional<MapImage> model_image;
  compiler::FlowVerdict model;
  std::vector<std::string> differences;
  size_t matching_records = 0;
  std::vector<json> recent;
  std::vector<CounterRow> counters;
};

json ToJson(const Explanation& e, const NodeExplainRequest& request) {
  json node = {{"pinRoot", request.pin_root},
               {"generation", e.generation},
               {"fromIsEndpoint", e.from_local},
               {"toIsEndpoint", e.to_local},
               {"allowed", e.node.allowed},
               {"egress", SideJson(e.node_image, e.node.egress, FW_DIR_EGRESS, nullptr)},
               {"ingress", SideJson(e.node_image, e.node.ingress, FW_DIR_INGRESS, nullptr)}};
  json result = {{"from", e.from.name}, {"fromIp", e.from.address.ToString()},
                 {"to", e.to.name},     {"toIp", e.to.address.ToString()},
                 {"port", e.port},      {"protocol", e.protocol},
                 {"node", node}};
  if (e.model_image) {
    result["files"] = {{"allowed", e.model.allowed},
                       {"egress", SideJson(*e.model_image, e.model.egress, FW_DIR_EGRESS,
                                           FindEndpoint(*e.model_image, e.from.address))},
                       {"ingress", SideJson(*e.model_image, e.model.ingress, FW_DIR_INGRESS,
                                            FindEndpoint(*e.model_image, e.to.address))}};
    result["differences"] = e.differences;
  }
  result["recent"] = e.recent;
  result["recentMatching"] = e.matching_records;
  json counters = json::array();
  for (const CounterRow& row : e.counters) {
    counters.push_back({{"endpoint", row.end},
                        {"ip", row.address.ToString()},
                        {"direction", agent::DirectionName(row.direction)},
                        {"reason", std::string(agent::ReasonName(row.reason))},
                        {"packets", row.value.packets},
                        {"bytes", row.value.bytes}});
  }
  result["counters"] = counters;
  return result;
}

void PrintText(const Explanation& e, const NodeExplainRequest& request, std::ostream& out) {
  out << e.from.name << " (" << e.from.address.ToString() << ") -> " << e.to.name << " ("
      << e.to.address.ToString() << ") " << e.protocol << "/" << e.port << "\n";
  out << "node (" << request.pin_root << ", policy generation " << e.generation
      << "): " << (e.node.allowed ? "ALLOWED" : "DENIED") << "\n";
  auto local = [](bool is_local) { return is_local ? "" : " (not an endpoint on this node)"; };
  PrintSide(e.node_image, absl::StrCat("egress of ", e.from.name, local(e.from_local)),
            e.node.egress, FW_DIR_EGRESS, nullptr, out);
  PrintSide(e.node_image, absl::StrCat("ingress of ", e.to.name, local(e.to_local)), e.node.ingress,
            FW_DIR_INGRESS, nullptr, out);
  if (e.model_image) {
    out << "files: " << (e.model.allowed ? "ALLOWED" : "DENIED") << "\n";
    PrintSide(*e.model_image, "egress of " + e.from.name, e.model.egress, FW_DIR_EGRESS,
              FindEndpoint(*e.model_image, e.from.address), out);
    PrintSide(*e.model_image, "ingress of " + e.to.name, e.model.ingress, FW_DIR_INGRESS,
              FindEndpoint(*e.model_image, e.to.address), out);
    if (e.differences.empty()) {
      out << "the node agrees with the files\n";
    } else {
      out << "the node DIFFERS from the files (not converged yet, or other files):\n";
      for (const std::string& difference : e.differences) out << "  " << difference << "\n";
    }
  }
  if (request.verdict_logs.empty()) {
    out << "recent verdicts: no --verdict-log given\n";
  } else {
    out << "recent verdicts: " << e.recent.size() << " of " << e.matching_records
        << " record(s) of this flow\n";
    for (const json& record : e.recent) out << "  " << RecordText(record) << "\n";
  }
  out << "counters";
  if (!e.from_local && !e.to_local) {
    out << ": neither end is an endpoint on this node\n";
    return;
  }
  out << " (packets, bytes):\n";
  if (e.counters.empty()) out << "  none counted yet\n";
  for (const CounterRow& row : e.counters) {
    out << "  " << row.end << " " << agent::DirectionName(row.direction) << " "
        << agent::ReasonName(row.reason) << ": " << row.value.packets << ", " << row.value.bytes
        << "\n";
  }
}

}  // namespace

int ExplainOnNode(const NodeExplainRequest& request, std::ostream& out, std::ostream& err) {
  auto fail = [&err](const absl::Status& status, int code = 1) {
    err << "flatwall explain: " << status.message() << "\n";
    return code;
  };
  std::vector<json> records;
  if (!request.verdict_logs.empty()) {
    absl::StatusOr<std::vector<json>> read = ReadRecords(request.verdict_logs);
    if (!read.ok()) return fail(read.status());
    records = std::move(*read);
  }
  Explanation e;
  absl::StatusOr<FlowEnd> from = ResolveLive(request, records, request.from, nullptr);
  if (!from.ok()) return fail(from.status(), 2);
  absl::StatusOr<FlowEnd> to = ResolveLive(request, records, request.to, &from->address);
  if (!to.ok()) return fail(to.status(), 2);
  e.from = *from;
  e.to = *to;
  e.protocol = std::string(compiler::ProtocolName(request.protocol));
  e.port = request.port;

  absl::StatusOr<std::unique_ptr<agent::PinnedMaps>> maps =
      agent::PinnedMaps::Open(request.pin_root);
  if (!maps.ok()) return fail(maps.status());

  absl::StatusOr<fw_config> config = (*maps)->ReadConfig();
  if (!config.ok()) return fail(config.status());
  e.generation = config->generation;
  absl::StatusOr<MapImage> tables = agent::ReadPinnedTables(**maps);
  if (!tables.ok()) return fail(tables.status());
  e.node_image = std::move(*tables);
  e.from_local = IsEndpoint(e.node_image, e.from.address);
  e.to_local = IsEndpoint(e.node_image, e.to.address);

  // The node's own programs and maps are never run: a packet through them would create
  // conntrack entries, count, and spend event tokens. A copy of its tables in a
  // throwaway datapath decides the same.
  const uint8_t protocol_number = static_cast<uint8_t>(request.protocol);
  {
    absl::StatusOr<std::unique_ptr<agent::BpfFlowJudge>> judge =
        agent::BpfFlowJudge::Create(agent::BpfFlowJudge::TemporaryPinRoot(), e.node_image);
    if (!judge.ok()) return fail(judge.status());
    absl::StatusOr<compiler::FlowVerdict> verdict =
        ProgramVerdict(**judge, e.from, e.to, protocol_number, request.port);
    if (!verdict.ok()) return fail(verdict.status());
    e.node = *verdict;
  }
  if (request.manifests != nullptr) {
    e.model_image = compiler::Compile(request.manifests->state, {.all_nodes = true});
    e.model = compiler::CheckFlow(*e.model_image, e.from.address, e.to.address, protocol_number,
                                  request.port);
    e.differences = Differences(e.node, e.model, e.from_local, e.to_local, e.from, e.to);
  }
  for (json& record : records) {
    if (!IsOfFlow(record, e.from, e.to, e.protocol, request.port)) continue;
    ++e.matching_records;
    e.recent.push_back(std::move(record));
  }
  if (e.recent.size() > request.recent) {
    e.recent.erase(e.recent.begin(), e.recent.end() - static_cast<ptrdiff_t>(request.recent));
  }
  std::vector<const FlowEnd*> local_ends;
  if (e.from_local) local_ends.push_back(&e.from);
  if (e.to_local && e.to.address != e.from.address) local_ends.push_back(&e.to);
  absl::StatusOr<std::vector<CounterRow>> counters = ReadCounters(**maps, local_ends);
  if (!counters.ok()) return fail(counters.status());
  e.counters = std::move(*counters);

  if (request.json) {
    out << ToJson(e, request).dump(2) << "\n";
  } else {
    PrintText(e, request, out);
  }
  return e.node.allowed ? 0 : 1;
}

}  // namespace flatwall::cli
