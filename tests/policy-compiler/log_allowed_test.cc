// The flatwall.io/log-allowed annotation: decoded and validated on Namespaces and
// NetworkPolicies, compiled to FW_EP_LOG_ALLOWED (namespace) and FW_RULE_LOG_ALLOWED
// (policy), reported by the userspace lookup, and kept current by the incremental compiler.
#include <netinet/in.h>

#include <string>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/annotations.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/manifest_decoder.h"
#include "policy-compiler/policy_lookup.h"
#include "tests/testing/image_compare.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::Ip;
using ::flatwall::testing::MakeNamespace;
using ::flatwall::testing::PodBuilder;
using ::flatwall::testing::PodPeer;
using ::flatwall::testing::PolicyBuilder;
using ::flatwall::testing::Port;
using ::flatwall::testing::Rule;
using ::flatwall::testing::SameImage;
using ::flatwall::testing::Selector;
using ::flatwall::testing::Upsert;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint8_t kTcp = IPPROTO_TCP;

Namespace AnnotatedNamespace(const std::string& name, const std::string& value) {
  Namespace ns = MakeNamespace(name);
  ns.annotations[kLogAllowedAnnotation] = value;
  return ns;
}

// shop: web 10.0.1.1, db 10.0.1.2, cache 10.0.1.3; bank: api 10.0.2.1. All local.
ClusterState BaseCluster() {
  ClusterState state;
  state.Apply(Upsert(MakeNamespace("shop")));
  state.Apply(Upsert(MakeNamespace("bank")));
  state.Apply(Upsert(PodBuilder("shop", "web").Labels({{"app", "web"}}).Ips({"10.0.1.1"}).Build()));
  state.Apply(Upsert(PodBuilder("shop", "db").Labels({{"app", "db"}}).Ips({"10.0.1.2"}).Build()));
  state.Apply(
      Upsert(PodBuilder("shop", "cache").Labels({{"app", "cache"}}).Ips({"10.0.1.3"}).Build()));
  state.Apply(Upsert(PodBuilder("bank", "api").Labels({{"app", "api"}}).Ips({"10.0.2.1"}).Build()));
  return state;
}

// db accepts `from` on TCP `port`.
PolicyBuilder DbIngress(const std::string& name, const std::string& from, uint16_t port) {
  PolicyBuilder policy("shop", name);
  policy.Select(Selector({{"app", "db"}}))
      .Ingress(Rule({PodPeer(Selector({{"app", from}}))}, {Port(port)}));
  return policy;
}

const fw_endpoint_value& EndpointOf(const MapImage& image, const std::string& ip) {
  for (const EndpointEntry& entry : image.endpoints) {
    if (FromAbi(entry.key.addr) == Ip(ip)) return entry.value;
  }
  ADD_FAILURE() << "no endpoint " << ip;
  static const fw_endpoint_value kNone{};
  return kNone;
}

PolicyVerdict DbIngressVerdict(const MapImage& image, const std::string& from, uint16_t port) {
  return LookupPolicy(image, {Ip("10.0.1.2"), Ip(from), FW_DIR_INGRESS, kTcp, port});
}

TEST(LogAllowedTest, NamespaceAnnotationFlagsEveryEndpointOfThatNamespaceOnly) {
  struct Case {
    std::string value;  // empty: not annotated
    bool logged;
  };
  for (const Case& c : std::vector<Case>{{"true", true}, {"false", false}, {"", false}}) {
    SCOPED_TRACE("shop annotated \"" + c.value + "\"");
    ClusterState state = BaseCluster();
    if (!c.value.empty()) state.Apply(Upsert(AnnotatedNamespace("shop", c.value)));
    state.Apply(Upsert(DbIngress("from-web", "web", 5432).Build()));
    const MapImage image = Compile(state, {.all_nodes = true});

    for (const char* ip : {"10.0.1.1", "10.0.1.2", "10.0.1.3"}) {
      SCOPED_TRACE(ip);
      EXPECT_EQ((EndpointOf(image, ip).flags & FW_EP_LOG_ALLOWED) != 0, c.logged);
    }
    // Isolation is unaffected by the flag.
    EXPECT_EQ(EndpointOf(image, "10.0.1.2").flags & ~FW_EP_LOG_ALLOWED, FW_EP_ISOLATED_INGRESS);
    EXPECT_EQ(EndpointOf(image, "10.0.2.1").flags, 0);
    // Allowed by a rule, or because nothing isolates web: the lookup reports the flag.
    EXPECT_EQ(DbIngressVerdict(image, "10.0.1.1", 5432).log_allowed, c.logged);
    EXPECT_EQ(LookupPolicy(image, {Ip("10.0.1.1"), Ip("10.0.2.1"), FW_DIR_EGRESS, kTcp, 80})
                  .log_allowed,
              c.logged);
    // The rule entries are the policy's business, not the namespace's.
    for (const RuleEntry& entry : image.rules) EXPECT_EQ(entry.value.flags, 0);
  }
}

TEST(LogAllowedTest, PolicyAnnotationFlagsOnlyThatPolicysRuleEntries) {
  ClusterState state = BaseCluster();
  state.Apply(Upsert(
      DbIngress("logged", "web", 5432).Annotation(kLogAllowedAnnotation, "true").Build()));
  state.Apply(Upsert(
      DbIngress("quiet", "cache", 6379).Annotation(kLogAllowedAnnotation, "false").Build()));
  const MapImage image = Compile(state, {.all_nodes = true});

  const PolicyVerdict logged = DbIngressVerdict(image, "10.0.1.1", 5432);
  EXPECT_EQ(logged.reason, FW_REASON_RULE);
  EXPECT_TRUE(logged.log_allowed);
  const PolicyVerdict not_logged = DbIngressVerdict(image, "10.0.1.3", 6379);
  EXPECT_EQ(not_logged.reason, FW_REASON_RULE);
  EXPECT_FALSE(not_logged.log_allowed);
  // A denied flow reports no request to log.
  EXPECT_EQ(DbIngressVerdict(image, "10.0.1.3", 5432).verdict, FW_VERDICT_DENY);
  EXPECT_FALSE(DbIngressVerdict(image, "10.0.1.3", 5432).log_allowed);

  int flagged = 0;
  for (const RuleEntry& entry : image.rules) {
    const uint16_t port = ntohs(entry.key.port);
    SCOPED_TRACE(port);
    EXPECT_EQ(entry.value.flags, port == 5432 ? FW_RULE_LOG_ALLOWED : 0);
    flagged += entry.value.flags != 0;
  }
  EXPECT_EQ(flagged, 1);
  // The endpoint itself asks for nothing.
  EXPECT_EQ(EndpointOf(image, "10.0.1.2").flags & FW_EP_LOG_ALLOWED, 0);
}

TEST(LogAllowedTest, KeyFromAnnotatedAndPlainPoliciesIsLoggedAndKeepsTheLowestRuleId) {
  for (const char* annotated : {"a-first", "b-second", "c-third"}) {
    SCOPED_TRACE(annotated);
    ClusterState state = BaseCluster();
    for (const char* name : {"a-first", "b-second", "c-third"}) {
      PolicyBuilder policy = DbIngress(name, "web", 5432);
      if (std::string(name) == annotated) policy.Annotation(kLogAllowedAnnotation, "true");
      state.Apply(Upsert(policy.Build()));
    }
    const MapImage image = Compile(state, {.all_nodes = true});
    ASSERT_EQ(image.rules.size(), 1u);
    EXPECT_EQ(image.rules[0].value.flags, FW_RULE_LOG_ALLOWED);
    EXPECT_EQ(image.rules[0].value.rule_id, image.rule_table.front().rule_id);  // sorted by id
  }
}

TEST(LogAllowedTest, AnnotationChangesReachTheIncrementalImageAsMinimalDiffs) {
  IncrementalCompiler compiler({.node_name = "node-1"}, BaseCluster());
  compiler.Apply(Upsert(DbIngress("from-web", "web", 5432).Build()));

  // Namespace annotated: the shop endpoints change, not one rule.
  MapDiff diff = compiler.Apply(Upsert(AnnotatedNamespace("shop", "true")));
  EXPECT_THAT(diff.rules.upserts, IsEmpty());
  EXPECT_THAT(diff.rules.deletes, IsEmpty());
  EXPECT_EQ(diff.endpoints.upserts.size(), 3u);
  EXPECT_TRUE(SameImage(compiler.image(), Compile(compiler.state(), {.node_name = "node-1"})));
  EXPECT_NE(EndpointOf(compiler.image(), "10.0.1.1").flags & FW_EP_LOG_ALLOWED, 0);

  // Namespace annotated "false", then deleted: the flag goes again.
  diff = compiler.Apply(Upsert(AnnotatedNamespace("shop", "false")));
  EXPECT_EQ(diff.endpoints.upserts.size(), 3u);
  EXPECT_EQ(EndpointOf(compiler.image(), "10.0.1.1").flags & FW_EP_LOG_ALLOWED, 0);
  compiler.Apply(Upsert(AnnotatedNamespace("shop", "true")));
  compiler.Apply({ClusterEvent::kDelete, MakeNamespace("shop")});
  EXPECT_EQ(EndpointOf(compiler.image(), "10.0.1.1").flags & FW_EP_LOG_ALLOWED, 0);
  EXPECT_TRUE(SameImage(compiler.image(), Compile(compiler.state(), {.node_name = "node-1"})));

  // Policy annotated: its rules move to a new ruleset whose entries carry the flag.
  compiler.Apply(Upsert(
      DbIngress("from-web", "web", 5432).Annotation(kLogAllowedAnnotation, "true").Build()));
  EXPECT_TRUE(SameImage(compiler.image(), Compile(compiler.state(), {.node_name = "node-1"})));
  ASSERT_EQ(compiler.image().rules.size(), 1u);
  EXPECT_EQ(compiler.image().rules[0].value.flags, FW_RULE_LOG_ALLOWED);
  EXPECT_TRUE(DbIngressVerdict(compiler.image(), "10.0.1.1", 5432).log_allowed);
}

// ---- Decoding --------------------------------------------------------------------------

TEST(LogAllowedTest, ManifestKeepsOnlyFlatwallAnnotationsOnNamespacesAndPolicies) {
  const DecodeResult result = DecodeManifest("test.yaml", R"(apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations:
    flatwall.io/log-allowed: "true"
    owner: team-a
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: p
  namespace: shop
  annotations: {flatwall.io/log-allowed: "false"}
spec: {podSelector: {}}
)");
  ASSERT_THAT(result.errors, IsEmpty());
  ASSERT_EQ(result.objects.size(), 2u);
  const Namespace& ns = std::get<Namespace>(result.objects[0]);
  EXPECT_TRUE(LogsAllowedFlows(ns.annotations));
  EXPECT_FALSE(ns.annotations.contains("owner")) << "the model keeps only Flatwall's annotations";
  EXPECT_FALSE(LogsAllowedFlows(std::get<NetworkPolicy>(result.objects[1]).annotations));
}

TEST(LogAllowedTest, ValueOtherThanTrueOrFalseIsAnErrorWithFileLineAndField) {
  struct Case {
    std::string name;
    std::string text;
    int line;
    std::string value;
  };
  const std::vector<Case> cases = {
      {"namespace, yes", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
                         "  annotations:\n    flatwall.io/log-allowed: \"yes\"\n",
       6, "yes"},
      {"namespace, capitalised", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
                                 "  annotations: {flatwall.io/log-allowed: \"True\"}\n",
       5, "True"},
      {"policy, empty", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                        "  name: p\n  annotations:\n    flatwall.io/log-allowed: \"\"\n"
                        "spec: {podSelector: {}}\n",
       6, ""},
      {"policy, 1", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                    "  name: p\n  annotations:\n    flatwall.io/log-allowed: \"1\"\n"
                    "spec: {podSelector: {}}\n",
       6, "1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const DecodeResult result = DecodeManifest("test.yaml", c.text);
    EXPECT_THAT(result.objects, IsEmpty());
    std::vector<std::string> errors;
    for (const DecodeError& error : result.errors) errors.push_back(error.ToString());
    EXPECT_THAT(errors, ElementsAre(DecodeError{{"test.yaml", c.line},
                                                "metadata.annotations[flatwall.io/log-allowed]",
                                                "invalid value \"" + c.value +
                                                    "\": must be \"true\" or \"false\""}
                                        .ToString()));
  }
}

TEST(LogAllowedTest, OnlyFlatwallsOwnAnnotationsAreChecked) {
  EXPECT_TRUE(ValidateAnnotation("flatwall.io/owner", "anything").ok());
  EXPECT_TRUE(ValidateAnnotation("example.com/log-allowed", "yes").ok());
  EXPECT_TRUE(ValidateAnnotation(kLogAllowedAnnotation, "true").ok());
  EXPECT_TRUE(ValidateAnnotation(kLogAllowedAnnotation, "false").ok());
  EXPECT_FALSE(ValidateAnnotation(kLogAllowedAnnotation, "TRUE").ok());
  EXPECT_TRUE(IsFlatwallAnnotation(kLogAllowedAnnotation));
  EXPECT_FALSE(IsFlatwallAnnotation("flatwall.io/owner"));
}

}  // namespace
}  // namespace flatwall::compiler
