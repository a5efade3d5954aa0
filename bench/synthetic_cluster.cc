#include "bench/synthetic_cluster.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace flatwall::bench {
namespace {

using compiler::ClusterObject;
using compiler::IpAddress;
using compiler::IpPrefix;
using compiler::LabelSelector;
using compiler::NetworkPolicy;
using compiler::PolicyPeer;
using compiler::PolicyPort;
using compiler::PolicyRule;

constexpr const char* kTiers[] = {"web", "api", "data", "cache"};
constexpr int kAppsPerNamespace = 10;
constexpr int kTeams = 20;

int NamespaceCount(const ClusterShape& shape) {
  return std::max(1, shape.pods / shape.pods_per_namespace);
}

// Pod i gets 10.0.0.0/8 + i (skipping .0), unique up to 16M pods.
IpAddress PodIp(int serial) {
  uint32_t value = (10u << 24) + static_cast<uint32_t>(serial) + 1;
  std::array<uint8_t, 16> bytes{};
  bytes[10] = bytes[11] = 0xff;
  for (int i = 0; i < 4; ++i) bytes[12 + i] = static_cast<uint8_t>(value >> (24 - 8 * i));
  return IpAddress(bytes);
}

compiler::Pod MakePod(const ClusterShape& shape, int serial, int namespace_index, int app) {
  compiler::Pod pod;
  pod.namespace_name = absl::StrCat("ns-", namespace_index);
  pod.name = absl::StrCat("app-", app, "-", serial);
  pod.uid = absl::StrCat("uid-pod-", serial);
  pod.labels = {{"app", absl::StrCat("app-", app)},
                {"tier", kTiers[app % 4]},
                {"version", app % 3 == 0 ? "v2" : "v1"}};
  // Spread like a scheduler: consecutive pods of a namespace land on different nodes.
  int nodes = std::max(1, shape.pods / shape.pods_per_node);
  pod.node_name = absl::StrCat("node-", serial % nodes);
  pod.ports = {{"http", static_cast<uint16_t>(8000 + app % 4), compiler::Protocol::kTcp},
               {"metrics", 9090, compiler::Protocol::kTcp}};
  pod.ips = {PodIp(serial)};
  return pod;
}

LabelSelector MatchLabels(compiler::Labels labels) { return LabelSelector{std::move(labels), {}}; }

IpPrefix RandomPrefix(std::mt19937& random) {
  int length = 12 + static_cast<int>(random() % 17);  // /12 .. /28
  uint32_t base = (static_cast<uint32_t>(random()) & 0x00ffffffu) | (10u << 24);
  std::array<uint8_t, 16> bytes{};
  bytes[10] = bytes[11] = 0xff;
  for (int i = 0; i < 4; ++i) bytes[12 + i] = static_cast<uint8_t>(base >> (24 - 8 * i));
  return IpPrefix::Of(IpAddress(bytes), length);
}

NetworkPolicy MakePolicy(const ClusterShape& shape, int serial, std::mt19937& random,
                         const std::vector<IpPrefix>& cidrs) {
  int namespaces = NamespaceCount(shape);
  NetworkPolicy policy;
  // Every namespace gets each kind of policy below in turn.
  policy.namespace_name = absl::StrCat("ns-", serial / 5 % namespaces);
  policy.name = absl::StrCat("policy-", serial);
  policy.uid = absl::StrCat("uid-policy-", serial);
  policy.generation = 1;
  int app = static_cast<int>(random() % kAppsPerNamespace);
  PolicyPort http{compiler::Protocol::kTcp, std::variant<uint16_t, std::string>("http"), {}};
  switch (serial % 5) {
    case 0:  // default deny for the namespace
      policy.affects_ingress = policy.affects_egress = true;
      break;
    case 1: {  // app <- the tier in front of it, on its named port
      policy.pod_selector = MatchLabels({{"app", absl::StrCat("app-", app)}});
      policy.affects_ingress = true;
      PolicyPeer peer;
      peer.pod_selector = MatchLabels({{"tier", kTiers[(app + 3) % 4]}});
      policy.ingress.push_back(PolicyRule{{peer}, {http}});
      break;
    }
    case 2: {  // metrics scraped from the monitoring namespaces
      policy.affects_ingress = true;
      PolicyPeer peer;
      peer.namespace_selector = MatchLabels({{"purpose", "monitoring"}});
      PolicyPort metrics{compiler::Protocol::kTcp, std::variant<uint16_t, std::string>("metrics"), {}};
      policy.ingress.push_back(PolicyRule{{peer}, {metrics}});
      break;
    }
    case 3: {  // from the same team's namespaces, a port range
      policy.pod_selector.match_expressions.push_back(
          {"tier", compiler::LabelSelectorRequirement::Operator::kIn, {"api", "web"}});
      policy.affects_ingress = true;
      PolicyPeer peer;
      peer.namespace_selector = MatchLabels({{"team", absl::StrCat("team-", serial % kTeams)}});
      PolicyPort range{compiler::Protocol::kTcp, std::variant<uint16_t, std::string>(uint16_t{8000}),
                       uint16_t{8443}};
      policy.ingress.push_back(PolicyRule{{peer}, {range}});
      break;
    }
    default: {  // egress to a few CIDR blocks with an except
      policy.pod_selector = MatchLabels({{"app", absl::StrCat("app-", app)}});
      policy.affects_ingress = policy.affects_egress = true;
      PolicyRule rule;
      for (int i = 0; i < 3; ++i) {
        const IpPrefix& cidr = cidrs[random() % cidrs.size()];
        compiler::IpBlock block{cidr, {}};
        if (cidr.length() < 28) block.except.push_back(IpPrefix::Of(cidr.address(), cidr.length() + 4));
        rule.peers.push_back(PolicyPeer{{}, {}, block});
      }
      rule.ports.push_back(PolicyPort{compiler::Protocol::kTcp, std::variant<uint16_t, std::string>(uint16_t{443}), {}});
      policy.egress.push_back(rule);
      break;
    }
  }
  return policy;
}

}  // namespace

std::vector<ClusterObject> MakeSyntheticCluster(const ClusterShape& shape) {
  std::mt19937 random(shape.seed);
  std::vector<ClusterObject> objects;
  int namespaces = NamespaceCount(shape);
  for (int i = 0; i < namespaces; ++i) {
    compiler::Namespace ns;
    ns.name = absl::StrCat("ns-", i);
    ns.uid = absl::StrCat("uid-ns-", i);
    ns.labels = {{"kubernetes.io/metadata.name", ns.name},
                 {"team", absl::StrCat("team-", i % kTeams)},
                 {"purpose", i % 50 == 0 ? "monitoring" : "workload"}};
    objects.push_back(std::move(ns));
  }
  for (int serial = 0; serial < shape.pods; ++serial) {
    int namespace_index = serial / shape.pods_per_namespace % namespaces;
    objects.push_back(MakePod(shape, serial, namespace_index, serial % kAppsPerNamespace));
  }
  std::vector<IpPrefix> cidrs;
  for (int i = 0; i < shape.cidrs / 2 + 1; ++i) cidrs.push_back(RandomPrefix(random));
  for (int serial = 0; serial < shape.policies; ++serial) {
    objects.push_back(MakePolicy(shape, serial, random, cidrs));
  }
  return objects;
}

compiler::Pod MakeExtraPod(const ClusterShape& shape, int serial, bool new_local_identity) {
  // Pod 0 (ns-0, app-0) runs on node-0; app-1 has no pod there.
  compiler::Pod pod = MakePod(shape, shape.pods + serial, 0, new_local_identity ? 1 : 0);
  pod.node_name = "node-0";
  return pod;
}

}  // namespace flatwall::bench
