#include "agent/lab/lab_state.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace flatwall::compiler {

// Addresses as text, protocols by name: the file stays readable by people. Static: found
// by argument-dependent lookup here, invisible to the linker elsewhere.
static void to_json(nlohmann::json& json, const IpAddress& ip) { json = ip.ToString(); }
static void from_json(const nlohmann::json& json, IpAddress& ip) {
  absl::StatusOr<IpAddress> parsed = IpAddress::Parse(json.get<std::string>());
  if (!parsed.ok()) throw std::invalid_argument(std::string(parsed.status().message()));
  ip = *parsed;
}
static void to_json(nlohmann::json& json, const Protocol& protocol) {
  json = std::string(ProtocolName(protocol));
}
static void from_json(const nlohmann::json& json, Protocol& protocol) {
  std::optional<Protocol> parsed = ParseProtocolName(json.get<std::string>());
  if (!parsed) throw std::invalid_argument("unknown protocol " + json.dump());
  protocol = *parsed;
}

}  // namespace flatwall::compiler

namespace flatwall::lab {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NodePlan, name, netns, underlay_ipv4, underlay_ipv6, fabric_link)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ServedPort, protocol, port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ServiceBackend, pod, ip, port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ServicePortPlan, name, protocol, port, backends)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ServicePlan, namespace_name, name, cluster_ip, generated,
                                   selector, backend_pods, ports)

namespace {

constexpr int kVersion = 1;

template <typename T>
nlohmann::json Optional(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}
template <typename T>
std::optional<T> ReadOptional(const nlohmann::json& json) {
  if (json.is_null()) return std::nullopt;
  return json.get<T>();
}

nlohmann::json PodToJson(const PodPlan& pod) {
  return {{"key", pod.key},
          {"node", pod.node},
          {"netns_index", pod.netns_index},
          {"netns", pod.netns},
          {"ipv4", Optional(pod.ipv4)},
          {"ipv4_allocated", pod.ipv4_allocated},
          {"ipv6", Optional(pod.ipv6)},
          {"host_veth", pod.host_veth},
          {"host_veth_mac", pod.host_veth_mac},
          {"ports", pod.ports}};
}

PodPlan PodFromJson(const nlohmann::json& json) {
  PodPlan pod;
  json.at("key").get_to(pod.key);
  json.at("node").get_to(pod.node);
  json.at("netns_index").get_to(pod.netns_index);
  json.at("netns").get_to(pod.netns);
  pod.ipv4 = ReadOptional<compiler::IpAddress>(json.at("ipv4"));
  json.at("ipv4_allocated").get_to(pod.ipv4_allocated);
  pod.ipv6 = ReadOptional<compiler::IpAddress>(json.at("ipv6"));
  json.at("host_veth").get_to(pod.host_veth);
  json.at("host_veth_mac").get_to(pod.host_veth_mac);
  json.at("ports").get_to(pod.ports);
  return pod;
}

}  // namespace

std::string LabStateToJson(const LabState& state) {
  const TopologyPlan& plan = state.plan;
  nlohmann::json pods = nlohmann::json::array();
  for (const PodPlan& pod : plan.pods) pods.push_back(PodToJson(pod));
  nlohmann::json json = {{"version", kVersion},
                         {"flatwall_binary", state.flatwall_binary},
                         {"agent", Optional(state.agent)},
                         {"lab_name", plan.lab_name},
                         {"node_count", plan.node_count},
                         {"fabric_netns", plan.fabric_netns},
                         {"nodes", plan.nodes},
                         {"pods", pods},
                         {"services", plan.services},
                         {"next_node", plan.next_node},
                         {"notes", plan.notes}};
  return json.dump(2) + "\n";
}

absl::StatusOr<LabState> LabStateFromJson(const std::string& text) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    if (json.at("version").get<int>() != kVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat("lab state version ", json.at("version").dump(), " is not ", kVersion));
    }
    LabState state;
    json.at("flatwall_binary").get_to(state.flatwall_binary);
    state.agent = ReadOptional<std::string>(json.at("agent"));
    TopologyPlan& plan = state.plan;
    json.at("lab_name").get_to(plan.lab_name);
    json.at("node_count").get_to(plan.node_count);
    json.at("fabric_netns").get_to(plan.fabric_netns);
    json.at("nodes").get_to(plan.nodes);
    for (const nlohmann::json& pod : json.at("pods")) plan.pods.push_back(PodFromJson(pod));
    json.at("services").get_to(plan.services);
    json.at("next_node").get_to(plan.next_node);
    json.at("notes").get_to(plan.notes);
    return state;
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("not a lab state: ", error.what()));
  }
}

absl::Status SaveLabState(const std::string& path, const LabState& state) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << LabStateToJson(state);
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("write ", temporary, ": failed"));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename ", temporary, " to ", path, ": failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LabState> LoadLabState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<LabState> state = LabStateFromJson(text.str());
  if (!state.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", state.status().message()));
  }
  return state;
}

}  // namespace flatwall::lab
