#include "agent/cli/image_format.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/verdict_names.h"

namespace flatwall::cli {
namespace {

using compiler::IpAddress;
using compiler::IpPrefix;
using compiler::MapImage;

std::string Hex(uint32_t value) { return absl::StrFormat("0x%08x", value); }

std::string FormatLabels(const compiler::LabelSet& labels) {
  return absl::StrCat("{", absl::StrJoin(labels, ",", absl::PairFormatter("=")), "}");
}

std::string IdentityName(const MapImage& image, uint32_t identity) {
  if (identity == FW_IDENTITY_HOST) return "host";
  if (identity == FW_IDENTITY_WORLD) return "world";
  auto it = std::lower_bound(
      image.identities.begin(), image.identities.end(), identity,
      [](const compiler::IdentityInfo& info, uint32_t id) { return info.identity < id; });
  if (it == image.identities.end() || it->identity != identity) return Hex(identity);
  return absl::StrCat(it->namespace_name, FormatLabels(it->labels));
}

}  // namespace

std::string DescribeRuleKinds(uint8_t kinds) {
  std::vector<std::string> names;
  if (kinds & FW_RULES_HAVE_IDENTITY) names.push_back("identity");
  if (kinds & FW_RULES_HAVE_CIDR) names.push_back("cidr");
  if (kinds & FW_RULES_HAVE_ANY) names.push_back("any");
  if (names.empty()) return "none";
  std::vector<std::string> shapes;
  if (kinds & FW_RULES_HAVE_EXACT_PORT) shapes.push_back("port");
  if (kinds & FW_RULES_HAVE_PORT_RANGE) shapes.push_back("range");
  if (kinds & FW_RULES_HAVE_ANY_PORT) shapes.push_back("anyport");
  if (kinds & FW_RULES_HAVE_ANY_PROTOCOL) shapes.push_back("anyprotocol");
  return absl::StrCat(absl::StrJoin(names, "+"), "/", absl::StrJoin(shapes, "+"));
}

std::string DescribeIsolation(uint8_t flags) {
  std::vector<std::string> names;
  if (flags & FW_EP_ISOLATED_INGRESS) names.push_back("ingress");
  if (flags & FW_EP_ISOLATED_EGRESS) names.push_back("egress");
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

namespace {

// The prefix a CIDR class stands for, found through the fw_cidrs entries.
std::map<uint32_t, std::string> ClassPrefixes(const MapImage& image) {
  std::map<uint32_t, std::string> prefixes;
  for (const compiler::CidrEntry& entry : image.cidrs) {
    IpAddress address = compiler::FromAbi(entry.key.addr);
    int length = address.is_v4() ? static_cast<int>(entry.key.prefixlen) - 96
                                 : static_cast<int>(entry.key.prefixlen);
    prefixes[entry.value.cidr_class] = IpPrefix::Of(address, length).ToString();
  }
  return prefixes;
}

std::string RemoteName(const MapImage& image, const std::map<uint32_t, std::string>& classes,
                       const fw_rule_key& key) {
  switch (key.remote_kind) {
    case FW_REMOTE_IDENTITY:
      return absl::StrCat("identity ", IdentityName(image, key.remote));
    case FW_REMOTE_CIDR: {
      auto it = classes.find(key.remote);
      return absl::StrCat("cidr ", it == classes.end() ? Hex(key.remote) : it->second);
    }
    default:
      return "any";
  }
}

std::string ProtocolNumberName(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP:
      return "TCP";
    case IPPROTO_UDP:
      return "UDP";
    case IPPROTO_SCTP:
      return "SCTP";
    case IPPROTO_ICMP:
      return "ICMP";
    case IPPROTO_ICMPV6:
      return "ICMPv6";
  }
  return absl::StrCat("proto ", protocol);
}

}  // namespace

std::string DescribeRuleTraffic(const fw_rule_key& key) {
  if (key.prefixlen <= FW_RULE_BITS_ANY_PROTOCOL) return "any";
  std::string protocol = ProtocolNumberName(key.protocol);
  if (key.prefixlen <= FW_RULE_BITS_ANY_PORT) return protocol;
  int port_bits = static_cast<int>(key.prefixlen) - FW_RULE_BITS_ANY_PORT;
  uint32_t first = ntohs(key.port);
  uint32_t last = first + (1u << (16 - port_bits)) - 1;
  return first == last ? absl::StrCat(protocol, " ", first)
                       : absl::StrCat(protocol, " ", first, "-", last);
}

std::string DescribeRule(const MapImage& image, uint32_t rule_id) {
  auto it = std::lower_bound(
      image.rule_table.begin(), image.rule_table.end(), rule_id,
      [](const compiler::RuleInfo& info, uint32_t id) { return info.rule_id < id; });
  if (it == image.rule_table.end() || it->rule_id != rule_id) {
    return absl::StrCat("rule ", Hex(rule_id));
  }
  return absl::StrCat(it->policy_namespace, "/", it->policy_name, " ",
                      agent::DirectionName(it->direction), "[", it->rule_index, "]");
}

std::string FormatImageText(const MapImage& image, const std::string& node_name) {
  std::map<uint32_t, std::string> classes = ClassPrefixes(image);
  std::string out = absl::StrCat("# node ", node_name, ": ", image.endpoints.size(),
                                 " endpoints, ", image.identities.size(), " identities, ",
                                 image.ipcache.size(), " ipcache entries, ", image.cidrs.size(),
                                 " CIDR classes, ", image.rules.size(), " rules\n");
  absl::StrAppend(&out, "endpoints:\n");
  for (size_t i = 0; i < image.endpoints.size(); ++i) {
    const auto& [key, value] = image.endpoints[i];
    const compiler::EndpointInfo& info = image.endpoint_info[i];
    absl::StrAppend(&out, "  ", compiler::FromAbi(key.addr).ToString(), " ", info.pod_namespace, "/",
                    info.pod_name, " identity ", Hex(value.identity), " ruleset ",
                    Hex(value.ruleset), " isolated ", DescribeIsolation(value.flags),
                    " rules ingress:", DescribeRuleKinds(value.rule_kinds[FW_DIR_INGRESS]),
                    " egress:", DescribeRuleKinds(value.rule_kinds[FW_DIR_EGRESS]), "\n");
  }
  absl::StrAppend(&out, "identities:\n");
  for (const compiler::IdentityInfo& info : image.identities) {
    absl::StrAppend(&out, "  ", Hex(info.identity), " ", info.namespace_name,
                    FormatLabels(info.labels), "\n");
  }
  absl::StrAppend(&out, "ipcache:\n");
  for (const auto& [key, value] : image.ipcache) {
    absl::StrAppend(&out, "  ", compiler::FromAbi(key.addr).ToString(), " identity ",
                    Hex(value.identity), " class ", Hex(value.cidr_class), "\n");
  }
  absl::StrAppend(&out, "cidrs:\n");
  for (const auto& [cidr_class, prefix] : classes) {
    absl::StrAppend(&out, "  ", prefix, " class ", Hex(cidr_class), "\n");
  }
  absl::StrAppend(&out, "rules:\n");
  for (const auto& [key, value] : image.rules) {
    absl::StrAppend(&out, "  ruleset ", Hex(key.ruleset), " ", agent::DirectionName(key.direction),
                    " ", RemoteName(image, classes, key), " ", DescribeRuleTraffic(key),
                    " -> allow by ", DescribeRule(image, value.rule_id), "\n");
  }
  return out;
}

nlohmann::json FormatImageJson(const MapImage& image, const std::string& node_name) {
  std::map<uint32_t, std::string> classes = ClassPrefixes(image);
  nlohmann::json out = {{"node", node_name}};
  out["endpoints"] = nlohmann::json::array();
  for (size_t i = 0; i < image.endpoints.size(); ++i) {
    const auto& [key, value] = image.endpoints[i];
    const compiler::EndpointInfo& info = image.endpoint_info[i];
    out["endpoints"].push_back({{"ip", compiler::FromAbi(key.addr).ToString()},
                                {"pod", absl::StrCat(info.pod_namespace, "/", info.pod_name)},
                                {"identity", value.identity},
                                {"ruleset", value.ruleset},
                                {"isolatedIngress", (value.flags & FW_EP_ISOLATED_INGRESS) != 0},
                                {"isolatedEgress", (value.flags & FW_EP_ISOLATED_EGRESS) != 0},
                                {"isolatingPolicies",
                                 {{"ingress", info.isolating_policies[FW_DIR_INGRESS]},
                                  {"egress", info.isolating_policies[FW_DIR_EGRESS]}}}});
  }
  out["identities"] = nlohmann::json::array();
  for (const compiler::IdentityInfo& info : image.identities) {
    out["identities"].push_back({{"identity", info.identity},
                                 {"namespace", info.namespace_name},
                                 {"labels", info.labels.ToMap()}});
  }
  out["ipcache"] = nlohmann::json::array();
  for (const auto& [key, value] : image.ipcache) {
    out["ipcache"].push_back({{"ip", compiler::FromAbi(key.addr).ToString()},
                              {"identity", value.identity},
                              {"cidrClass", value.cidr_class}});
  }
  out["cidrs"] = nlohmann::json::array();
  for (const auto& [cidr_class, prefix] : classes) {
    out["cidrs"].push_back({{"prefix", prefix}, {"cidrClass", cidr_class}});
  }
  out["rules"] = nlohmann::json::array();
  for (const auto& [key, value] : image.rules) {
    out["rules"].push_back({{"ruleset", key.ruleset},
                            {"direction", agent::DirectionName(key.direction)},
                            {"remote", RemoteName(image, classes, key)},
                            {"traffic", DescribeRuleTraffic(key)},
                            {"ruleId", value.rule_id},
                            {"rule", DescribeRule(image, value.rule_id)}});
  }
  return out;
}

}  // namespace flatwall::cli
