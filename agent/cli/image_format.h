// Human-readable and JSON renderings of a compiled map image (`flatwall compile`).
//
// Not here: computing the image (policy-compiler/compiler.h).
#ifndef FLATWALL_AGENT_CLI_IMAGE_FORMAT_H_
#define FLATWALL_AGENT_CLI_IMAGE_FORMAT_H_

#include <string>

#include "nlohmann/json.hpp"
#include "policy-compiler/map_image.h"

namespace flatwall::cli {

// One section per map (endpoints, identities, ipcache, cidrs, rules), one line per entry,
// with ids resolved to names (pods, policies, prefixes).
std::string FormatImageText(const compiler::MapImage& image, const std::string& node_name);
nlohmann::json FormatImageJson(const compiler::MapImage& image, const std::string& node_name);

// "any", "TCP", "TCP 80", "TCP 80-81": the protocol and port range a rule key covers.
std::string DescribeRuleTraffic(const fw_rule_key& key);
// "identity+cidr/port+range": the rule kinds an endpoint's direction has
// (fw_endpoint_value.rule_kinds), or "none".
std::string DescribeRuleKinds(uint8_t kinds);
// "ingress,egress", "ingress", or "none": the directions an endpoint is isolated in.
std::string DescribeIsolation(uint8_t flags);
// "shop/frontend-to-backend egress[0]", or "rule 0x…" when the id is not in the table.
std::string DescribeRule(const compiler::MapImage& image, uint32_t rule_id);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_IMAGE_FORMAT_H_
