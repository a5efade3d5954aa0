#include "agent/cli/flow_explanation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/cli/image_format.h"
#include "agent/verdict_names.h"

namespace flatwall::cli {

using compiler::IpAddress;
using compiler::MapImage;
using compiler::PolicyVerdict;

namespace {

compiler::PolicyVerdict FromProgram(const agent::RunResult& result) {
  return {.verdict = result.verdict,
          .reason = result.reason,
          .rule_id = result.rule_id,
          .local_identity = result.local_identity,
          .remote_identity = result.remote_identity};
}

}  // namespace

absl::StatusOr<FlowEnd> ResolveEnd(const compiler::ClusterState& state, const std::string& text,
                                   const compiler::IpAddress* family_hint) {
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

absl::StatusOr<compiler::FlowVerdict> ProgramVerdict(agent::BpfFlowJudge& bpf, const FlowEnd& from,
                                                     const FlowEnd& to, uint8_t protocol,
                                                     uint16_t port) {
  absl::StatusOr<agent::FlowVerdict> probed = bpf.Probe({from.address, to.address, protocol, port});
  if (!probed.ok()) return probed.status();
  compiler::FlowVerdict verdict;
  verdict.allowed = probed->allowed;
  verdict.egress = FromProgram(probed->from_pod);
  verdict.ingress = FromProgram(probed->to_pod);
  return verdict;
}

const compiler::EndpointInfo* FindEndpoint(const MapImage& image, const IpAddress& address) {
  auto it =
      std::find_if(image.endpoint_info.begin(), image.endpoint_info.end(),
                   [&](const compiler::EndpointInfo& info) { return info.address == address; });
  return it == image.endpoint_info.end() ? nullptr : &*it;
}

std::string ReasonText(const MapImage& image, const PolicyVerdict& verdict, fw_direction dir) {
  const char* side = agent::DirectionName(dir);
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
  out << "  " << title << ": " << (verdict.verdict == FW_VERDICT_ALLOW ? "allow" : "DENY") << "\n";
  if (endpoint != nullptr && !endpoint->isolating_policies[dir].empty()) {
    out << "    isolated by: " << absl::StrJoin(endpoint->isolating_policies[dir], ", ") << "\n";
  }
  out << "    " << ReasonText(image, verdict, dir) << "\n";
}

}  // namespace flatwall::cli
