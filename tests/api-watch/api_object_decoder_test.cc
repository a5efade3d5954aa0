#include "api-watch/api_object_decoder.h"

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <variant>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/manifest_decoder.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using compiler::ClusterObject;
using compiler::IpAddress;
using compiler::IpPrefix;
using compiler::Protocol;
using ::flatwall::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

std::string ReadTestData(const std::string& name) {
  std::ifstream file(std::string(FLATWALL_SOURCE_DIR) + "/tests/testdata/api-watch/" + name);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

json TestObject(const std::string& name) { return json::parse(ReadTestData(name)); }

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }
IpPrefix Prefix(const char* text) { return *IpPrefix::Parse(text); }

template <typename T>
T DecodeAs(ResourceKind kind, const json& object) {
  absl::StatusOr<ClusterObject> decoded = DecodeApiObject(kind, object);
  EXPECT_THAT(decoded, flatwall::testing::IsOk());
  if (!decoded.ok() || !std::holds_alternative<T>(*decoded)) return T{};
  return std::get<T>(*decoded);
}

TEST(ApiObjectDecoderTest, PodKeepsOnlyTheFieldsTheModelHolds) {
  compiler::Pod want{.namespace_name = "shop",
                     .name = "web-7d4b9c6f5-x2x9q",
                     .uid = "6a1c3f7e-2f0b-4a55-9d8e-3f1b2c4d5e6f",
                     .labels = {{"app.kubernetes.io/name", "web"},
                                {"pod-template-hash", "7d4b9c6f5"},
                                {"tier", "frontend"}},
                     .node_name = "node-a",
                     .host_network = false,
                     .ports = {{"http", 8080, Protocol::kTcp},
                               {"dns-udp", 5353, Protocol::kUdp},
                               {"", 7000, Protocol::kTcp},
                               {"metrics", 9100, Protocol::kTcp}},
                     .ips = {Ip("10.10.1.57"), Ip("fd00:10:1::39")}};
  EXPECT_EQ(DecodeAs<compiler::Pod>(ResourceKind::kPod, TestObject("pod.json")), want);
}

TEST(ApiObjectDecoderTest, NamespaceAlwaysCarriesItsNameLabel) {
  json object = TestObject("namespace.json");
  object["metadata"]["labels"].erase("kubernetes.io/metadata.name");
  compiler::Namespace want{
      .name = "shop",
      .uid = "b1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
      .labels = {{"kubernetes.io/metadata.name", "shop"}, {"team", "payments"}}};
  EXPECT_EQ(DecodeAs<compiler::Namespace>(ResourceKind::kNamespace, object), want);
}

TEST(ApiObjectDecoderTest, NetworkPolicyDecodesEveryField) {
  using Operator = compiler::LabelSelectorRequirement::Operator;
  compiler::NetworkPolicy policy = DecodeAs<compiler::NetworkPolicy>(
      ResourceKind::kNetworkPolicy, TestObject("networkpolicy.json"));
  EXPECT_EQ(policy.namespace_name, "shop");
  EXPECT_EQ(policy.name, "web-allow");
  EXPECT_EQ(policy.generation, 3);
  EXPECT_EQ(policy.annotations,
            (std::map<std::string, std::string>{{"flatwall.io/log-allowed", "true"}}));
  // An API object's kind and key say where it is: no source location is kept.
  EXPECT_EQ(policy.source, compiler::SourceLocation{});
  compiler::LabelSelector pod_selector{
      .match_labels = {{"app.kubernetes.io/name", "web"}},
      .match_expressions = {{"tier", Operator::kIn, {"edge", "frontend"}},
                            {"canary", Operator::kDoesNotExist, {}}}};
  EXPECT_EQ(policy.pod_selector, pod_selector);
  EXPECT_TRUE(policy.affects_ingress);
  EXPECT_TRUE(policy.affects_egress);

  ASSERT_EQ(policy.ingress.size(), 2u);
  const compiler::PolicyRule& rule = policy.ingress[0];
  std::vector<compiler::PolicyPort> ports = {{Protocol::kTcp, uint16_t{8080}, std::nullopt},
                                             {Protocol::kTcp, std::string("http"), std::nullopt},
                                             {Protocol::kUdp, uint16_t{30000}, uint16_t{30100}},
                                             {Protocol::kSctp, std::nullopt, std::nullopt}};
  EXPECT_EQ(rule.ports, ports);
  ASSERT_EQ(rule.peers.size(), 3u);
  EXPECT_EQ(rule.peers[0].pod_selector,
            (compiler::LabelSelector{.match_labels = {{"role", "client"}}}));
  EXPECT_EQ(
      rule.peers[0].namespace_selector,
      (compiler::LabelSelector{.match_expressions = {{"team", Operator::kNotIn, {"guest"}}}}));
  EXPECT_EQ(rule.peers[1].namespace_selector, compiler::LabelSelector{});
  EXPECT_FALSE(rule.peers[1].pod_selector.has_value());
  // Host bits in a legacy CIDR field are cleared, in cidr and except alike.
  compiler::IpBlock block{Prefix("192.168.0.0/16"),
                          {Prefix("192.168.1.0/24"), Prefix("192.168.2.0/24")}};
  EXPECT_EQ(rule.peers[2].ip_block, block);
  EXPECT_EQ(policy.ingress[1], compiler::PolicyRule{});

  ASSERT_EQ(policy.egress.size(), 1u);
  EXPECT_EQ(policy.egress[0].ports[1], (compiler::PolicyPort{Protocol::kTcp, uint16_t{53}}));
  EXPECT_EQ(policy.egress[0].peers[0].ip_block,
            (compiler::IpBlock{Prefix("fd00::/8"), {Prefix("fd00:10::/32")}}));
}

TEST(ApiObjectDecoderTest, ServiceDefaultsUnsetTargetPortToPort) {
  compiler::Service want{.namespace_name = "shop",
                         .name = "web",
                         .cluster_ips = {Ip("10.96.12.34"), Ip("fd00:96::1234")},
                         .selector = compiler::Labels{{"app.kubernetes.io/name", "web"}},
                         .ports = {{"http", Protocol::kTcp, 80, std::string("http")},
                                   {"metrics", Protocol::kTcp, 9100, uint16_t{9100}},
                                   {"alt", Protocol::kUdp, 5353, uint16_t{5353}}}};
  EXPECT_EQ(DecodeAs<compiler::Service>(ResourceKind::kService, TestObject("service.json")), want);
}

// The watch and the manifest files must mean the same thing: the same object decodes to
// the same model through both decoders (only where it came from differs).
TEST(ApiObjectDecoderTest, AgreesWithManifestDecoderOnTheSameObjects) {
  struct Case {
    const char* file;
    ResourceKind kind;
  };
  for (const Case& c :
       std::initializer_list<Case>{{"pod.json", ResourceKind::kPod},
                                   {"namespace.json", ResourceKind::kNamespace},
                                   {"networkpolicy.json", ResourceKind::kNetworkPolicy},
                                   {"service.json", ResourceKind::kService}}) {
    SCOPED_TRACE(c.file);
    std::string text = ReadTestData(c.file);
    compiler::DecodeResult manifest = compiler::DecodeManifest(c.file, text);
    ASSERT_TRUE(manifest.errors.empty()) << manifest.errors[0].ToString();
    ASSERT_EQ(manifest.objects.size(), 1u);
    absl::StatusOr<ClusterObject> api = DecodeApiObject(c.kind, json::parse(text));
    FW_ASSERT_OK(api);
    auto without_source = [](ClusterObject object) {
      std::visit([](auto& typed) { typed.source = {}; }, object);
      return object;
    };
    EXPECT_EQ(without_source(*api), without_source(manifest.objects[0]));
  }
}

TEST(ApiObjectDecoderTest, PolicyTypesDefaultLikeTheApiServer) {
  struct Case {
    const char* name;
    json spec;
    bool ingress;
    bool egress;
  };
  std::initializer_list<Case> cases = {
      {"absent, no egress rules", {{"podSelector", json::object()}}, true, false},
      {"absent, egress rules",
       {{"podSelector", json::object()}, {"egress", json::array({json::object()})}},
       true,
       true},
      {"empty list, null egress rule",
       {{"podSelector", json::object()},
        {"policyTypes", json::array()},
        {"egress", json::array({nullptr})}},
       true,
       true},
      {"egress only",
       {{"podSelector", json::object()}, {"policyTypes", json::array({"Egress"})}},
       false,
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json object = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}}, {"spec", c.spec}};
    compiler::NetworkPolicy policy =
        DecodeAs<compiler::NetworkPolicy>(ResourceKind::kNetworkPolicy, object);
    EXPECT_EQ(policy.affects_ingress, c.ingress);
    EXPECT_EQ(policy.affects_egress, c.egress);
  }
}

TEST(ApiObjectDecoderTest, FinishedPodsHoldNoAddressesAndPodIpIsAFallback) {
  json pod = TestObject("pod.json");
  pod["status"].erase("podIPs");
  EXPECT_EQ(DecodeAs<compiler::Pod>(ResourceKind::kPod, pod).ips,
            std::vector<IpAddress>{Ip("10.10.1.57")});
  for (const char* phase : {"Succeeded", "Failed"}) {
    SCOPED_TRACE(phase);
    pod["status"]["phase"] = phase;
    EXPECT_TRUE(DecodeAs<compiler::Pod>(ResourceKind::kPod, pod).ips.empty());
  }
}

// Each case patches a valid object; the error must name the object and the field path.
TEST(ApiObjectDecoderTest, ErrorsNameTheObjectAndTheFieldPath) {
  struct Case {
    const char* file;
    ResourceKind kind;
    json patch;  // RFC 6902
    const char* want;
  };
  std::initializer_list<Case> cases = {
      {"pod.json", ResourceKind::kPod,
       json::parse(
           R"([{"op":"replace","path":"/spec/containers/0/ports/1/containerPort","value":"5353"}])"),
       "Pod shop/web-7d4b9c6f5-x2x9q: spec.containers[0].ports[1].containerPort: must be an "
       "integer, got \"5353\""},
      {"pod.json", ResourceKind::kPod,
       json::parse(R"([{"op":"replace","path":"/status/podIPs/1/ip","value":"fd00::zz"}])"),
       "Pod shop/web-7d4b9c6f5-x2x9q: status.podIPs[1].ip: "},
      {"pod.json", ResourceKind::kPod,
       json::parse(R"([{"op":"add","path":"/spec/hostNetwork","value":"true"}])"),
       "spec.hostNetwork: must be a boolean"},
      {"pod.json", ResourceKind::kPod,
       json::parse(R"([{"op":"replace","path":"/metadata/labels/tier","value":7}])"),
       "metadata.labels[tier]: must be a string, got 7"},
      {"pod.json", ResourceKind::kPod, json::parse(R"([{"op":"remove","path":"/metadata/name"}])"),
       "Pod: metadata.name: required"},
      {"pod.json", ResourceKind::kPod,
       json::parse(R"([{"op":"replace","path":"/kind","value":"Service"}])"),
       "Pod: kind: expected Pod, got Service"},
      {"pod.json", ResourceKind::kPod,
       json::parse(R"([{"op":"replace","path":"/spec","value":[1]}])"), "spec: must be an object"},
      {"networkpolicy.json", ResourceKind::kNetworkPolicy,
       json::parse(
           R"([{"op":"replace","path":"/spec/ingress/0/from/2/ipBlock/except/0","value":"10.0.0.0/24"}])"),
       "NetworkPolicy shop/web-allow: spec.ingress[0].from[2].ipBlock.except[0]: must be a "
       "strict subset of cidr 192.168.0.0/16"},
      {"networkpolicy.json", ResourceKind::kNetworkPolicy,
       json::parse(R"([{"op":"replace","path":"/spec/egress/0/ports/0/protocol","value":"udp"}])"),
       "spec.egress[0].ports[0].protocol: unsupported value \"udp\""},
      {"networkpolicy.json", ResourceKind::kNetworkPolicy,
       json::parse(R"([{"op":"replace","path":"/spec/ingress/0/ports/2/endPort","value":29999}])"),
       "spec.ingress[0].ports[2].endPort: must be >= port 30000"},
      {"networkpolicy.json", ResourceKind::kNetworkPolicy,
       json::parse(R"([{"op":"replace","path":"/spec/ingress/0/from/1","value":{}}])"),
       "spec.ingress[0].from[1]: must specify at least one of"},
      {"networkpolicy.json", ResourceKind::kNetworkPolicy,
       json::parse(
           R"([{"op":"replace","path":"/spec/podSelector/matchExpressions/0/values","value":[]}])"),
       "spec.podSelector.matchExpressions[0].values: must be non-empty"},
      {"networkpolicy.json", ResourceKind::kNetworkPolicy,
       json::parse(R"([{"op":"replace","path":"/spec/policyTypes/1","value":"egress"}])"),
       "spec.policyTypes[1]: unsupported value \"egress\""},
      {"service.json", ResourceKind::kService,
       json::parse(R"([{"op":"replace","path":"/spec/ports/0/port","value":70000}])"),
       "Service shop/web: spec.ports[0].port: invalid value 70000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json object = TestObject(c.file).patch(c.patch);
    EXPECT_THAT(DecodeApiObject(c.kind, object),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(ApiObjectDecoderTest, NonObjectsAreErrorsNotCrashes) {
  for (const json& value : {json(nullptr), json(5), json("pod"), json::array({1, 2})}) {
    SCOPED_TRACE(value.dump());
    EXPECT_THAT(DecodeApiObject(ResourceKind::kPod, value),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Pod: ")));
  }
}

TEST(ApiObjectDecoderTest, IdentityDecodesWhenTheRestDoesNot) {
  json pod = TestObject("pod.json");
  pod["spec"] = "garbage";
  EXPECT_FALSE(DecodeApiObject(ResourceKind::kPod, pod).ok());
  absl::StatusOr<ClusterObject> identity = DecodeApiObjectIdentity(ResourceKind::kPod, pod);
  FW_ASSERT_OK(identity);
  EXPECT_EQ(compiler::ObjectKey(*identity), "shop/web-7d4b9c6f5-x2x9q");
  EXPECT_EQ(compiler::ObjectKind(*identity), "Pod");
}

}  // namespace
}  // namespace flatwall::apiwatch
