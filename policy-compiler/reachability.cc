#include "policy-compiler/reachability.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "policy-compiler/policy_lookup.h"

namespace flatwall::compiler {
namespace {

struct ProbedPod {
  std::string name;  // "namespace/pod"
  std::vector<IpAddress> ips;
};

std::vector<ProbedPod> EndpointPods(const ClusterState& state) {
  std::vector<ProbedPod> pods;
  for (const Pod* pod : state.AllPods()) {
    if (pod->host_network || pod->ips.empty()) continue;
    pods.push_back({absl::StrCat(pod->namespace_name, "/", pod->name), pod->ips});
  }
  std::sort(pods.begin(), pods.end(),
            [](const ProbedPod& a, const ProbedPod& b) { return a.name < b.name; });
  return pods;
}

// The first address pair of one family, IPv4 preferred; nullopt when the pods share none.
std::optional<std::pair<IpAddress, IpAddress>> AddressPair(const ProbedPod& from,
                                                           const ProbedPod& to) {
  for (bool v4 : {true, false}) {
    auto source = std::find_if(from.ips.begin(), from.ips.end(),
                               [v4](const IpAddress& ip) { return ip.is_v4() == v4; });
    auto destination = std::find_if(to.ips.begin(), to.ips.end(),
                                    [v4](const IpAddress& ip) { return ip.is_v4() == v4; });
    if (source != from.ips.end() && destination != to.ips.end()) {
      return std::make_pair(*source, *destination);
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<ReachabilityResult> ComputeReachability(const ClusterState& state, uint16_t port,
                                                    Protocol protocol, const FlowJudge& judge) {
  std::vector<ProbedPod> pods = EndpointPods(state);
  std::vector<ReachabilityResult> results;
  results.reserve(pods.size() * pods.size());
  for (const ProbedPod& from : pods) {
    for (const ProbedPod& to : pods) {
      ReachabilityResult result{from.name, to.name, port, protocol, false};
      if (from.name == to.name) {
        result.allowed = true;  // loopback inside the pod: no policy applies
      } else if (auto pair = AddressPair(from, to)) {
        result.allowed = judge(pair->first, pair->second, protocol, port);
      }
      results.push_back(std::move(result));
    }
  }
  return results;
}

FlowJudge JudgeWithImage(const MapImage& image) {
  return [&image](const IpAddress& source, const IpAddress& destination, Protocol protocol,
                  uint16_t port) {
    return CheckFlow(image, source, destination, static_cast<uint8_t>(protocol), port).allowed;
  };
}

}  // namespace flatwall::compiler
