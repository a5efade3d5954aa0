#include "agent/lab/service_rules.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace flatwall::lab {

std::string ServiceNatTable(const TopologyPlan& plan) {
  std::string table = absl::StrCat(
      "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":POSTROUTING ACCEPT [0:0]\n:",
      kServicesChain, " - [0:0]\n", "-A PREROUTING -j ", kServicesChain, "\n-A OUTPUT -j ",
      kServicesChain, "\n");
  for (const ServicePlan& service : plan.services) {
    for (const ServicePortPlan& port : service.ports) {
      std::string protocol =
          absl::AsciiStrToLower(std::string(compiler::ProtocolName(port.protocol)));
      std::string match = absl::StrCat(
          "-A ", kServicesChain, " -d ", service.cluster_ip.ToString(), "/32 -p ", protocol, " -m ",
          protocol, " --dport ", port.port, " -m comment --comment \"", service.key(), ":",
          port.name.empty() ? absl::StrCat(port.port) : port.name, "\"");
      size_t count = port.backends.size();
      for (size_t i = 0; i < count; ++i) {
        const ServiceBackend& backend = port.backends[i];
        std::string random = i + 1 < count
                                 ? absl::StrFormat(" -m statistic --mode random --probability %.5f",
                                                   1.0 / static_cast<double>(count - i))
                                 : "";
        absl::StrAppend(&table, match, random, " -j DNAT --to-destination ", backend.ip.ToString(),
                        ":", backend.port, "\n");
      }
    }
  }
  // Hairpin: a pod that reaches itself through a Service would get a reply from its own
  // address to its own address, which never passes the node's conntrack to be translated
  // back. As kube-proxy does, such connections leave the node masqueraded (the node's
  // address) so that the reply returns through the node.
  std::set<compiler::IpAddress> backends;
  for (const ServicePlan& service : plan.services) {
    for (const ServicePortPlan& port : service.ports) {
      for (const ServiceBackend& backend : port.backends) backends.insert(backend.ip);
    }
  }
  for (const compiler::IpAddress& ip : backends) {
    absl::StrAppend(&table, "-A POSTROUTING -s ", ip.ToString(), "/32 -d ", ip.ToString(),
                    "/32 -m conntrack --ctstate DNAT -m comment --comment \"hairpin\" "
                    "-j MASQUERADE\n");
  }
  absl::StrAppend(&table, "COMMIT\n");
  return table;
}

std::string GeneratedServiceManifest(const ServicePlan& service) {
  nlohmann::json ports = nlohmann::json::array();
  for (const ServicePortPlan& port : service.ports) {
    ports.push_back({{"name", port.name},
                     {"protocol", std::string(compiler::ProtocolName(port.protocol))},
                     {"port", port.port},
                     {"targetPort", port.backends.empty() ? port.port : port.backends[0].port}});
  }
  nlohmann::json manifest = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata",
       {{"namespace", service.namespace_name},
        {"name", service.name},
        {"annotations", {{"flatwall.io/generated-by", "flatwall lab, for probes via Services"}}}}},
      {"spec",
       {{"clusterIP", service.cluster_ip.ToString()},
        {"selector", service.selector},
        {"ports", ports}}}};
  return manifest.dump(2) + "\n";
}

}  // namespace flatwall::lab
