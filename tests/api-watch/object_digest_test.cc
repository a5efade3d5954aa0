#include "api-watch/object_digest.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace flatwall::apiwatch {
namespace {

using compiler::ClusterObject;
using compiler::IpAddress;
using compiler::IpPrefix;

compiler::Pod BasePod() {
  return {.namespace_name = "shop",
          .name = "web-1",
          .uid = "u1",
          .labels = {{"app", "web"}},
          .node_name = "n1",
          .ports = {{.name = "http", .port = 80}},
          .ips = {*IpAddress::Parse("10.0.0.1")},
          .source = {"/api/v1/namespaces/shop/pods/web-1", 0}};
}

compiler::NetworkPolicy BasePolicy() {
  compiler::PolicyRule rule;
  rule.peers.push_back({.pod_selector = compiler::LabelSelector{.match_labels = {{"a", "b"}}},
                        .ip_block = compiler::IpBlock{.cidr = *IpPrefix::Parse("10.0.0.0/8"),
                                                      .except = {}}});
  rule.ports.push_back({.port = uint16_t{80}});
  return {.namespace_name = "shop",
          .name = "allow",
          .pod_selector = {.match_expressions = {{.key = "tier",
                                                  .op = compiler::LabelSelectorRequirement::Operator::kIn,
                                                  .values = {"a", "b"}}}},
          .affects_ingress = true,
          .ingress = {rule}};
}

compiler::Service BaseService() {
  return {.namespace_name = "shop",
          .name = "web",
          .cluster_ips = {*IpAddress::Parse("10.96.0.1")},
          .selector = compiler::Labels{{"app", "web"}},
          .ports = {{.name = "http", .port = 80, .target_port = uint16_t{8080}}}};
}

struct Mutation {
  std::string name;
  ClusterObject base;
  std::function<void(ClusterObject&)> change;
};

template <typename T>
std::function<void(ClusterObject&)> Change(std::function<void(T&)> change) {
  return [change](ClusterObject& object) { change(std::get<T>(object)); };
}

TEST(ObjectDigestTest, EqualObjectsHaveEqualDigests) {
  for (const ClusterObject& object :
       std::vector<ClusterObject>{BasePod(), BasePolicy(), BaseService(),
                                  compiler::Namespace{.name = "shop"}}) {
    SCOPED_TRACE(compiler::ObjectKey(object));
    ClusterObject copy = object;
    EXPECT_EQ(ObjectDigest(copy), ObjectDigest(object));
  }
}

TEST(ObjectDigestTest, ChangingAnyFieldTheModelHoldsChangesTheDigest) {
  using compiler::NetworkPolicy;
  using compiler::Pod;
  using compiler::Service;
  std::vector<Mutation> mutations = {
      {"pod label value", BasePod(), Change<Pod>([](Pod& p) { p.labels = {{"app", "db"}}; })},
      {"pod label added", BasePod(),
       Change<Pod>([](Pod& p) { p.labels = {{"app", "web"}, {"x", ""}}; })},
      {"pod node", BasePod(), Change<Pod>([](Pod& p) { p.node_name = "n2"; })},
      {"pod host network", BasePod(), Change<Pod>([](Pod& p) { p.host_network = true; })},
      {"pod uid", BasePod(), Change<Pod>([](Pod& p) { p.uid = "u2"; })},
      {"pod port number", BasePod(), Change<Pod>([](Pod& p) { p.ports[0].port = 81; })},
      {"pod port protocol", BasePod(),
       Change<Pod>([](Pod& p) { p.ports[0].protocol = compiler::Protocol::kUdp; })},
      {"pod ip", BasePod(), Change<Pod>([](Pod& p) { p.ips[0] = *IpAddress::Parse("10.0.0.2"); })},
      {"pod ip added", BasePod(),
       Change<Pod>([](Pod& p) { p.ips.push_back(*IpAddress::Parse("fd00::1")); })},
      // A label's bytes moved between key and value: the lengths tell them apart.
      {"pod label split moved", BasePod(), Change<Pod>([](Pod& p) { p.labels = {{"ap", "pweb"}}; })},
      {"policy generation", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) { p.generation = 2; })},
      {"policy egress type", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) { p.affects_egress = true; })},
      {"policy selector value", BasePolicy(),
       Change<NetworkPolicy>(
           [](NetworkPolicy& p) { p.pod_selector.match_expressions[0].values = {"a"}; })},
      {"policy selector operator", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) {
         p.pod_selector.match_expressions[0].op = compiler::LabelSelectorRequirement::Operator::kNotIn;
       })},
      {"policy peer namespace selector", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) {
         p.ingress[0].peers[0].namespace_selector = compiler::LabelSelector{};
       })},
      {"policy ipBlock except", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) {
         p.ingress[0].peers[0].ip_block->except.push_back(*IpPrefix::Parse("10.1.0.0/16"));
       })},
      {"policy port named", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) { p.ingress[0].ports[0].port = "80"; })},
      {"policy end port", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) { p.ingress[0].ports[0].end_port = 90; })},
      {"policy rule moved to egress", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) { std::swap(p.ingress, p.egress); })},
      {"policy annotation", BasePolicy(),
       Change<NetworkPolicy>([](NetworkPolicy& p) { p.annotations["a"] = "b"; })},
      {"service cluster ip", BaseService(),
       Change<Service>([](Service& s) { s.cluster_ips.clear(); })},
      {"service selector absent", BaseService(),
       Change<Service>([](Service& s) { s.selector.reset(); })},
      {"service target port named", BaseService(),
       Change<Service>([](Service& s) { s.ports[0].target_port = "http"; })},
      {"namespace label", compiler::Namespace{.name = "shop"},
       Change<compiler::Namespace>([](compiler::Namespace& n) { n.labels = {{"team", "a"}}; })},
      {"namespace annotation", compiler::Namespace{.name = "shop"},
       Change<compiler::Namespace>([](compiler::Namespace& n) { n.annotations["a"] = "b"; })},
  };
  for (const Mutation& mutation : mutations) {
    SCOPED_TRACE(mutation.name);
    ClusterObject changed = mutation.base;
    mutation.change(changed);
    ASSERT_FALSE(changed == mutation.base);
    EXPECT_NE(ObjectDigest(changed), ObjectDigest(mutation.base));
  }
}

TEST(ObjectDigestTest, SameFieldsInAnotherKindDigestDifferently) {
  compiler::Service service{.namespace_name = "shop", .name = "web"};
  compiler::NetworkPolicy policy{.namespace_name = "shop", .name = "web"};
  EXPECT_NE(ObjectDigest(service), ObjectDigest(policy));
}

}  // namespace
}  // namespace flatwall::apiwatch
