#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/datapath_option.h"
#include "agent/cli/image_format.h"
#include "agent/cli/traffic_options.h"
#include "agent/cli/manifest_files.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/compiler.h"
#include "policy-compiler/policy_lookup.h"

namespace flatwall::cli {
namespace {

using compiler::IpAddress;
using compiler::MapImage;
using compiler::PolicyVerdict;

struct FlowEnd {
  std::string name;  // "ns/pod", or the address for a non-pod end
  IpAddress address;
};

// "ns/pod" names a pod (its first IP of `family_hint`'s family when given), anything else
// must be an IP address.
absl::StatusOr<FlowEnd> ResolveEnd(const compiler::ClusterState& state, const std::string& text,
                                   const IpAddress* family_hint) {
  if (text.find('/') != std::string::npos) {
    const compiler::Pod* pod = state.FindPod(text);
    if (pod == nullptr) return absl::NotFoundError(absl::StrCat("no pod ", text, " in the files"));
    if (pod->host_network) {
      return absl::InvalidArgumentError(
          absl::StrCat(text, " uses the host network: it is its node, not an endpoint"));
    }
    for (const IpAddress& ip : pod->ips) {
      if (family_hint == nullptr || ip.is_v4() == family_hint->is_v4()) return FlowEnd{text, ip};
    }
    return absl::InvalidArgumentError(absl::StrCat(text, " has no IP of the right family"));
  }
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is neither NS/POD nor an IP"));
  }
  return FlowEnd{text, *address};
}

compiler::PolicyVerdict FromProgram(const agent::RunResult& result) {
  return {.verdict = result.verdict,
          .reason = result.reason,
          .rule_id = result.rule_id,
          .local_identity = result.local_identity,
          .remote_identity = result.remote_identity};
}

// The flow as the programs decide it, both sides (the destination's also when the
// source's egress drops the packet: what it would decide were the packet let through).
absl::StatusOr<compiler::FlowVerdict> ProgramVerdict(agent::BpfFlowJudge& bpf,
                                                     const FlowEnd& from, const FlowEnd& to,
                                                     uint8_t protocol, uint16_t port) {
  absl::StatusOr<agent::FlowVerdict> probed =
      bpf.Probe({from.address, to.address, protocol, port});
  if (!probed.ok()) return probed.status();
  compiler::FlowVerdict verdict;
  verdict.allowed = probed->allowed;
  verdict.egress = FromProgram(probed->from_pod);
  verdict.ingress = FromProgram(probed->to_pod);
  return verdict;
}

const compiler::EndpointInfo* FindEndpoint(const MapImage& image, const IpAddress& address) {
  auto it = std::find_if(image.endpoint_info.begin(), image.endpoint_info.end(),
                         [&](const compiler::EndpointInfo& info) { return info.address == address; });
  return it == image.endpoint_info.end() ? nullptr : &*it;
}

std::string ReasonText(const MapImage& image, const PolicyVerdict& verdict, fw_direction dir) {
  const char* side = dir == FW_DIR_EGRESS ? "egress" : "ingress";
  switch (verdict.reason) {
    case FW_REASON_NO_ENDPOINT:
      return "not a pod endpoint: no policy applies here";
    case FW_REASON_NOT_ISOLATED:
      return absl::StrCat("no policy selects the pod for ", side, ": allowed");
    case FW_REASON_HOST:
      return "the peer is the pod's own node: always allowed";
    case FW_REASON_RULE:
      return absl::StrCat("allowed by ", DescribeRule(image, verdict.rule_id));
    case FW_REASON_DEFAULT_DENY:
      return absl::StrCat("no ", side, " rule of the isolating policies allows it: denied");
    default:
      return absl::StrCat("reason ", verdict.reason);
  }
}

nlohmann::json SideJson(const MapImage& image, const PolicyVerdict& verdict, fw_direction dir,
                        const compiler::EndpointInfo* endpoint) {
  nlohmann::json side = {{"allowed", verdict.verdict == FW_VERDICT_ALLOW},
                         {"explanation", ReasonText(image, verdict, dir)}};
  if (endpoint != nullptr) side["isolatingPolicies"] = endpoint->isolating_policies[dir];
  if (verdict.reason == FW_REASON_RULE) side["rule"] = DescribeRule(image, verdict.rule_id);
  return side;
}

void PrintSide(const MapImage& image, const std::string& title, const PolicyVerdict& verdict,
               fw_direction dir, const compiler::EndpointInfo* endpoint, std::ostream& out) {
  out << "  " << title << ": " << (verdict.verdict == FW_VERDICT_ALLOW ? "allow" : "DENY")
      << "\n";
  if (endpoint != nullptr && !endpoint->isolating_policies[dir].empty()) {
    out << "    isolated by: " << absl::StrJoin(endpoint->isolating_policies[dir], ", ") << "\n";
  }
  out << "    " << ReasonText(image, verdict, dir) << "\n";
}

}  // namespace

int RunExplain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line =
      CommandLine::Parse(args, {.with_value = {"from", "to", "port", "protocol", "o", "datapath"}});
  auto usage = [&err](const std::string& problem) {
    err << "flatwall explain: " << problem
        << "\nusage: flatwall explain --from NS/POD --to NS/POD|IP --port N [--protocol "
           "TCP|UDP|SCTP] [-o text|json] [--datapath model|bpf] FILE...\n";
    return 2;
  };
  if (!line.ok()) return usage(std::string(line.status().message()));
  if (!line->Value("from") || !line->Value("to") || !line->Value("port")) {
    return usage("--from, --to and --port are required");
  }
  if (line->positional().empty()) return usage("no FILE given");
  absl::StatusOr<TrafficOptions> options = ParseTrafficOptions(*line, std::nullopt);
  if (!options.ok()) return usage(std::string(options.status().message()));

  std::optional<LoadedManifests> loaded =
      LoadManifestsForCommand(line->positional(), "explain", err);
  if (!loaded) return 1;
  absl::StatusOr<FlowEnd> from = ResolveEnd(loaded->state, *line->Value("from"), nullptr);
  if (!from.ok()) return usage(std::string(from.status().message()));
  absl::StatusOr<FlowEnd> to = ResolveEnd(loaded->state, *line->Value("to"), &from->address);
  if (!to.ok()) return usage(std::string(to.status().message()));

  MapImage image = compiler::Compile(loaded->state, {.all_nodes = true});
  const uint8_t protocol_number = static_cast<uint8_t>(options->protocol);
  compiler::FlowVerdict verdict;
  if (options->datapath == DatapathChoice::kBpf) {
    std::unique_ptr<agent::BpfFlowJudge> bpf = LoadBpfJudge(image, "explain", err);
    if (bpf == nullptr) return 1;
    absl::StatusOr<compiler::FlowVerdict> probed =
        ProgramVerdict(*bpf, *from, *to, protocol_number, options->port);
    if (!probed.ok()) {
      err << "flatwall explain: --datapath bpf: " << probed.status().message() << "\n";
      return 1;
    }
    verdict = *probed;
  } else {
    verdict = compiler::CheckFlow(image, from->address, to->address, protocol_number, options->port);
  }
  const compiler::EndpointInfo* source = FindEndpoint(image, from->address);
  const compiler::EndpointInfo* destination = FindEndpoint(image, to->address);
  std::string traffic = absl::StrCat(std::string(compiler::ProtocolName(options->protocol)), "/", options->port);
  if (options->format == "json") {
    out << nlohmann::json{{"from", from->name},
                          {"to", to->name},
                          {"port", options->port},
                          {"protocol", std::string(compiler::ProtocolName(options->protocol))},
                          {"allowed", verdict.allowed},
                          {"egress", SideJson(image, verdict.egress, FW_DIR_EGRESS, source)},
                          {"ingress", SideJson(image, verdict.ingress, FW_DIR_INGRESS, destination)}}
               .dump(2)
        << "\n";
  } else {
    out << from->name << " (" << from->address.ToString() << ") -> " << to->name << " ("
        << to->address.ToString() << ") " << traffic << ": "
        << (verdict.allowed ? "ALLOWED" : "DENIED") << "\n";
    PrintSide(image, "egress of " + from->name, verdict.egress, FW_DIR_EGRESS, source, out);
    PrintSide(image, "ingress of " + to->name, verdict.ingress, FW_DIR_INGRESS, destination, out);
  }
  return verdict.allowed ? 0 : 1;
}

}  // namespace flatwall::cli
