// Decoding: what each kind contributes, defaulting, List wrappers, JSON next to YAML,
// document splitting and locations. Validation errors: manifest_validation_test.cc;
// hostile input: manifest_robustness_test.cc.
#include "policy-compiler/manifest_decoder.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/manifest_test_util.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::Cidr;
using ::flatwall::testing::ErrorsText;
using ::flatwall::testing::Ip;
using ::flatwall::testing::ObjectsOf;
using ::flatwall::testing::ReadFileOrEmpty;
using ::flatwall::testing::SourceDir;
using ::flatwall::testing::WithoutSource;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Operator = LabelSelectorRequirement::Operator;

DecodeResult Decode(const std::string& text) { return DecodeManifest("test.yaml", text); }

DecodeResult DecodeTestdata(const std::string& name) {
  std::string text = ReadFileOrEmpty(SourceDir() / "tests/testdata/manifests" / name);
  EXPECT_FALSE(text.empty()) << name;
  return DecodeManifest(name, text);
}

// One error, compared field by field for a readable failure.
void ExpectError(const DecodeError& error, int line, const std::string& path,
                 const std::string& message) {
  EXPECT_EQ(error.location.line, line) << error.ToString();
  EXPECT_EQ(error.field_path, path) << error.ToString();
  EXPECT_EQ(error.message, message) << error.ToString();
}

TEST(ManifestDecoderTest, PodFromApiServerKeepsOnlyModelFields) {
  DecodeResult result = DecodeTestdata("pod-from-api-server.yaml");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));

  Pod want;
  want.namespace_name = "shop";
  want.name = "checkout-api-7d9f8b6c4-x2x7q";
  want.uid = "0b3c6d1e-2f4a-4b5c-8d9e-7f6a5b4c3d2e";
  want.labels = {{"app.kubernetes.io/name", "checkout-api"},
                 {"app.kubernetes.io/part-of", "shop"},
                 {"pod-template-hash", "7d9f8b6c4"},
                 {"tier", "api"}};
  want.node_name = "node-1";
  want.ports = {{"http", 8080, Protocol::kTcp},
                {"metrics", 9090, Protocol::kTcp},
                {"statsd", 8125, Protocol::kUdp},
                {"envoy-outbound", 15001, Protocol::kTcp},
                {"envoy-prom", 15090, Protocol::kTcp}};
  want.ips = {Ip("10.10.1.23"), Ip("fd00:10:10:1::17")};
  want.source = {"pod-from-api-server.yaml", 4};
  EXPECT_EQ(std::get<Pod>(result.objects[0]), want);
}

TEST(ManifestDecoderTest, PodIpsFallBackToPodIpAndAreDeduplicated) {
  struct Case {
    std::string name;
    std::string status;
    std::vector<IpAddress> want;
  };
  const std::vector<Case> cases = {
      {"pending", "status: {phase: Pending}", {}},
      {"podIP only", "status: {podIP: 10.0.0.5}", {Ip("10.0.0.5")}},
      {"podIPs win", "status: {podIP: 10.0.0.5, podIPs: [{ip: 10.0.0.6}]}", {Ip("10.0.0.6")}},
      {"empty podIPs", "status: {podIP: 10.0.0.5, podIPs: []}", {Ip("10.0.0.5")}},
      {"dual stack deduplicated",
       "status: {podIPs: [{ip: 'fd00::5'}, {ip: 10.0.0.5}, {ip: 'fd00::5'}]}",
       {Ip("fd00::5"), Ip("10.0.0.5")}},
      {"running keeps its IP", "status: {phase: Running, podIP: 10.0.0.5}", {Ip("10.0.0.5")}},
      {"succeeded released its IP", "status: {phase: Succeeded, podIP: 10.0.0.5}", {}},
      {"failed released its IPs",
       "status: {phase: Failed, podIPs: [{ip: 10.0.0.5}, {ip: 'fd00::5'}]}", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeResult result = Decode("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" + c.status);
    ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
    ASSERT_THAT(result.objects, SizeIs(1));
    EXPECT_EQ(std::get<Pod>(result.objects[0]).ips, c.want);
  }
}

TEST(ManifestDecoderTest, PodReadsHostNetworkAndDefaultsProtocolAndNamespace) {
  DecodeResult result = Decode(R"(apiVersion: v1
kind: Pod
metadata: {name: exporter}
spec:
  hostNetwork: true
  containers:
  - name: a
    ports: [{containerPort: 9100}]
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));
  const Pod& pod = std::get<Pod>(result.objects[0]);
  EXPECT_EQ(pod.namespace_name, "default");
  EXPECT_TRUE(pod.host_network);
  EXPECT_EQ(pod.node_name, "");
  EXPECT_THAT(pod.ports, ElementsAre(ContainerPort{"", 9100, Protocol::kTcp}));
}

TEST(ManifestDecoderTest, NamespaceAlwaysCarriesItsNameLabel) {
  struct Case {
    std::string name;
    std::string labels;
    Labels want;
  };
  const std::vector<Case> cases = {
      {"no labels", "", {{"kubernetes.io/metadata.name", "shop"}}},
      {"other labels",
       "  labels: {team: a}\n",
       {{"kubernetes.io/metadata.name", "shop"}, {"team", "a"}}},
      {"wrong value overwritten as the API server does",
       "  labels: {kubernetes.io/metadata.name: other}\n",
       {{"kubernetes.io/metadata.name", "shop"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeResult result =
        Decode("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n" + c.labels);
    ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
    ASSERT_THAT(result.objects, SizeIs(1));
    EXPECT_EQ(std::get<Namespace>(result.objects[0]).labels, c.want);
  }
}

TEST(ManifestDecoderTest, NamespaceFromApiServer) {
  DecodeResult result = DecodeTestdata("namespace.yaml");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));
  Namespace want{
      "shop",
      "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
      {{"kubernetes.io/metadata.name", "shop"}, {"team", "shop"}, {"environment", "production"}},
      {},
      {"namespace.yaml", 3}};
  EXPECT_EQ(std::get<Namespace>(result.objects[0]), want);
}

TEST(ManifestDecoderTest, ServicesKeepClusterIpsSelectorAndPorts) {
  DecodeResult result = DecodeTestdata("services.yaml");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<Service> services = ObjectsOf<Service>(result);
  ASSERT_THAT(services, SizeIs(2));

  Service api;
  api.namespace_name = "shop";
  api.name = "checkout-api";
  api.cluster_ips = {Ip("10.96.41.7"), Ip("fd00:96::29")};
  api.selector = Labels{{"app.kubernetes.io/name", "checkout-api"}};
  api.ports = {{"http", Protocol::kTcp, 80, std::string("http")},
               {"metrics", Protocol::kTcp, 9090, uint16_t{9090}},
               {"statsd", Protocol::kUdp, 8125, uint16_t{8125}}};
  api.source = {"services.yaml", 3};
  EXPECT_EQ(services[0], api);

  EXPECT_THAT(services[1].cluster_ips, IsEmpty()) << "headless";
  EXPECT_THAT(services[1].ports,
              ElementsAre(ServicePort{"postgres", Protocol::kTcp, 5432, uint16_t{5432}}));
}

TEST(ManifestDecoderTest, ServiceTargetPortZeroOrEmptyDefaultsToPort) {
  DecodeResult result = Decode(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports:
  - {port: 80, targetPort: 0}
  - {port: 81, targetPort: ""}
  selector: {}
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));
  const Service& service = std::get<Service>(result.objects[0]);
  EXPECT_EQ(service.namespace_name, "default");
  EXPECT_FALSE(service.selector.has_value()) << "an empty selector is no selector";
  EXPECT_THAT(service.ports, ElementsAre(ServicePort{"", Protocol::kTcp, 80, uint16_t{80}},
                                         ServicePort{"", Protocol::kTcp, 81, uint16_t{81}}));
}

TEST(ManifestDecoderTest, NetworkPolicyWithEveryField) {
  DecodeResult result = DecodeTestdata("network-policies.yaml");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<NetworkPolicy> policies = ObjectsOf<NetworkPolicy>(result);
  ASSERT_THAT(policies, SizeIs(4));

  auto labels = [](Labels match_labels) { return LabelSelector{std::move(match_labels), {}}; };
  auto pod_peer = [](LabelSelector selector) { return PolicyPeer{selector, {}, {}}; };
  NetworkPolicy want;
  want.namespace_name = "shop";
  want.name = "checkout-api";
  want.uid = "3c2b1a09-8f7e-4d6c-5b4a-392817f6e5d4";
  want.generation = 7;
  // Both annotations are validated and dropped: the model keeps only those Flatwall reads.
  want.annotations = {};
  want.pod_selector = LabelSelector{{{"app.kubernetes.io/name", "checkout-api"}},
                                    {{"tier", Operator::kIn, {"api", "api-canary"}},
                                     {"track", Operator::kNotIn, {"experimental"}},
                                     {"pod-template-hash", Operator::kExists, {}},
                                     {"quarantine", Operator::kDoesNotExist, {}}}};
  want.affects_ingress = true;
  want.affects_egress = true;
  want.ingress = {PolicyRule{
      {pod_peer(labels({{"app.kubernetes.io/name", "frontend"}})),
       PolicyPeer{LabelSelector{{}, {{"app", Operator::kIn, {"prometheus"}}}},
                  labels({{"purpose", "monitoring"}}),
                  {}},
       PolicyPeer{
           {}, {}, IpBlock{Cidr("10.10.0.0/16"), {Cidr("10.10.200.0/24"), Cidr("10.10.201.7/32")}}},
       PolicyPeer{{}, {}, IpBlock{Cidr("fd00:10:10::/48"), {Cidr("fd00:10:10:ff::/64")}}}},
      {PolicyPort{Protocol::kTcp, std::string("http"), {}},
       PolicyPort{Protocol::kTcp, uint16_t{9090}, {}}}}};
  want.egress = {
      PolicyRule{{PolicyPeer{labels({{"k8s-app", "kube-dns"}}), LabelSelector{}, {}}},
                 {PolicyPort{Protocol::kUdp, uint16_t{53}, {}},
                  PolicyPort{Protocol::kTcp, uint16_t{53}, {}}}},
      PolicyRule{{pod_peer(labels({{"app.kubernetes.io/name", "postgres"}}))},
                 {PolicyPort{Protocol::kTcp, uint16_t{5432}, {}}}},
      PolicyRule{{PolicyPeer{{}, {}, IpBlock{Cidr("0.0.0.0/0"), {Cidr("169.254.169.254/32")}}}},
                 {PolicyPort{Protocol::kTcp, uint16_t{30000}, uint16_t{32767}},
                  PolicyPort{Protocol::kSctp, uint16_t{3868}, {}}}},
  };
  want.source = {"network-policies.yaml", 13};
  EXPECT_EQ(policies[1], want);

  EXPECT_EQ(policies[0].pod_selector, LabelSelector{}) << "{} selects every pod";
  EXPECT_EQ(policies[3].namespace_name, "default");
  EXPECT_THAT(policies[3].ingress, ElementsAre(PolicyRule{})) << "{} allows everything";
}

TEST(ManifestDecoderTest, PolicyTypesDefaultLikeTheApiServer) {
  struct Case {
    std::string name;
    std::string spec;
    bool want_ingress;
    bool want_egress;
  };
  const std::vector<Case> cases = {
      {"absent, no rules", "podSelector: {}", true, false},
      {"absent, ingress rules only", "podSelector: {}\n  ingress: [{}]", true, false},
      {"absent, egress rule", "podSelector: {}\n  egress: [{}]", true, true},
      {"absent, null egress rule counts", "podSelector: {}\n  egress: [null]", true, true},
      {"absent, empty egress list", "podSelector: {}\n  egress: []", true, false},
      {"null", "podSelector: {}\n  policyTypes:\n  egress: [{}]", true, true},
      {"explicit empty list is defaulted too", "podSelector: {}\n  policyTypes: []\n  egress: [{}]",
       true, true},
      {"Egress only", "podSelector: {}\n  policyTypes: [Egress]\n  ingress: [{}]", false, true},
      {"Ingress only", "podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]", true, false},
      {"both", "podSelector: {}\n  policyTypes: [Egress, Ingress]", true, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeResult result = Decode(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  " +
        c.spec + "\n");
    ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
    ASSERT_THAT(result.objects, SizeIs(1));
    const NetworkPolicy& policy = std::get<NetworkPolicy>(result.objects[0]);
    EXPECT_EQ(policy.affects_ingress, c.want_ingress);
    EXPECT_EQ(policy.affects_egress, c.want_egress);
  }
}

TEST(ManifestDecoderTest, ProtocolDefaultsToTcpEverywhere) {
  DecodeResult result = Decode(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 80}, {}, null]
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}]
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(2));
  EXPECT_THAT(
      std::get<NetworkPolicy>(result.objects[0]).ingress[0].ports,
      ElementsAre(PolicyPort{Protocol::kTcp, uint16_t{80}, {}}, PolicyPort{}, PolicyPort{}));
  EXPECT_EQ(std::get<Service>(result.objects[1]).ports[0].protocol, Protocol::kTcp);
}

TEST(ManifestDecoderTest, IpBlockHostBitsAreAcceptedAndCleared) {
  DecodeResult result = Decode(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: 10.10.1.5/16, except: [10.10.200.9/24]}
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));
  const NetworkPolicy& policy = std::get<NetworkPolicy>(result.objects[0]);
  EXPECT_EQ(policy.egress[0].peers[0].ip_block,
            (IpBlock{Cidr("10.10.0.0/16"), {Cidr("10.10.200.0/24")}}));
}

TEST(ManifestDecoderTest, SelectorValuesAreSortedAndUnique) {
  DecodeResult result = Decode(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: In, values: [web, api, web]}]
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));
  EXPECT_THAT(std::get<NetworkPolicy>(result.objects[0]).pod_selector.match_expressions[0].values,
              ElementsAre("api", "web"));
}

TEST(ManifestDecoderTest, KubectlListYieldsEveryItemInOrder) {
  DecodeResult result = DecodeTestdata("kubectl-get-list.yaml");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<std::string> keys;
  for (const ClusterObject& object : result.objects) {
    keys.push_back(std::string(ObjectKind(object)) + " " + ObjectKey(object));
  }
  EXPECT_THAT(keys,
              ElementsAre("Namespace monitoring", "Pod monitoring/prometheus-0",
                          "Pod monitoring/node-exporter-9kq2r", "Pod monitoring/loadgen",
                          "Service monitoring/prometheus", "NetworkPolicy monitoring/prometheus",
                          "NetworkPolicy monitoring/deny-all"));
  // Each item's location is its own first line.
  EXPECT_EQ(std::get<Namespace>(result.objects[0]).source.line, 3);
  EXPECT_EQ(std::get<Pod>(result.objects[1]).source.line, 18);
  EXPECT_TRUE(std::get<Pod>(result.objects[2]).host_network);
}

TEST(ManifestDecoderTest, JsonAndYamlOfTheSameObjectsDecodeEqual) {
  struct Case {
    std::string yaml_file;
    std::string json_file;
    int yaml_object;  // index into the YAML file's objects (-1: all of them)
  };
  for (const Case& c : std::vector<Case>{{"kubectl-get-list.yaml", "kubectl-get-list.json", -1},
                                         {"network-policies.yaml", "network-policy.json", 1}}) {
    SCOPED_TRACE(c.json_file);
    DecodeResult yaml = DecodeTestdata(c.yaml_file);
    DecodeResult json = DecodeTestdata(c.json_file);
    ASSERT_THAT(yaml.errors, IsEmpty()) << ErrorsText(yaml);
    ASSERT_THAT(json.errors, IsEmpty()) << ErrorsText(json);
    std::vector<ClusterObject> want;
    for (size_t i = 0; i < yaml.objects.size(); ++i) {
      if (c.yaml_object < 0 || static_cast<size_t>(c.yaml_object) == i) {
        want.push_back(WithoutSource(yaml.objects[i]));
      }
    }
    std::vector<ClusterObject> got;
    for (const ClusterObject& object : json.objects) got.push_back(WithoutSource(object));
    EXPECT_EQ(got, want);
  }
}

TEST(ManifestDecoderTest, JsonIndentedWithTabsOrCompactDecodes) {
  const std::vector<std::string> texts = {
      "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Namespace\",\n\t\"metadata\": {\n\t\t\"name\": "
      "\"a\"\n\t}\n}\n",
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","labels":{"x":"a\u002Db"}}})",
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    DecodeResult result = DecodeManifest("ns.json", text);
    ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
    ASSERT_THAT(result.objects, SizeIs(1));
    EXPECT_EQ(std::get<Namespace>(result.objects[0]).name, "a");
  }
}

TEST(ManifestDecoderTest, JsonSurrogatePairsDecodeAndKeepLineNumbers) {
  DecodeResult result = DecodeManifest("p.json", R"({
  "apiVersion": "networking.k8s.io/v1",
  "kind": "NetworkPolicy",
  "metadata": {"name": "p", "annotations": {"note": "\ud83d\ude80 launch"}},
  "spec": {
    "podSelector": {},
    "ingress": [{"ports": [{"port": 0}]}]
  }
})");
  ASSERT_THAT(result.errors, SizeIs(1));
  ExpectError(result.errors[0], 7, "spec.ingress[0].ports[0].port",
              "invalid value 0: must be between 1 and 65535, inclusive");

  result = DecodeManifest("ns.json", R"({"apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "a", "labels": {"x": "\u0041\ud83d\ude80"}}})");
  ASSERT_THAT(result.errors, SizeIs(1));
  EXPECT_EQ(result.errors[0].location.line, 2);
  EXPECT_EQ(result.errors[0].field_path, "metadata.labels[x]");
}

TEST(ManifestDecoderTest, JsonThatYamlCannotReadFallsBackToNlohmann) {
  // YAML caps implicit keys at 1024 characters; JSON has no such limit. The long key is
  // an unknown Pod field, which is ignored.
  std::string text =
      "{\n  \"apiVersion\": \"v1\", \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"p\"},\n"
      "  \"spec\": {\"" +
      std::string(2000, 'k') + "\": 1, \"nodeName\": \"n\"}\n}\n";
  DecodeResult result = DecodeManifest("p.json", text);
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  ASSERT_THAT(result.objects, SizeIs(1));
  EXPECT_EQ(std::get<Pod>(result.objects[0]).node_name, "n");
  EXPECT_EQ(std::get<Pod>(result.objects[0]).source.line, 1);

  // Errors in such a file are reported on the object's first line.
  text.replace(text.find("\"n\""), 3, "7");
  result = DecodeManifest("p.json", text);
  ASSERT_THAT(result.errors, SizeIs(1));
  ExpectError(result.errors[0], 1, "spec.nodeName",
              "must be a string, got a number (\"7\"); quote it");
}

TEST(ManifestDecoderTest, SyntaxErrorInOneDocumentKeepsTheOthers) {
  DecodeResult result = Decode(R"(apiVersion: v1
kind: Namespace
metadata: {name: first}
---
apiVersion: v1
kind: Namespace
metadata: {name: [second
---
apiVersion: v1
kind: Namespace
metadata: {name: third}
)");
  std::vector<Namespace> namespaces = ObjectsOf<Namespace>(result);
  ASSERT_THAT(namespaces, SizeIs(2));
  EXPECT_EQ(namespaces[0].name, "first");
  EXPECT_EQ(namespaces[1].name, "third");
  EXPECT_EQ(namespaces[1].source.line, 9);
  ASSERT_THAT(result.errors, SizeIs(1));
  EXPECT_EQ(result.errors[0].field_path, "");
  EXPECT_GE(result.errors[0].location.line, 5);
  EXPECT_LE(result.errors[0].location.line, 8);
  EXPECT_THAT(result.errors[0].message, ::testing::StartsWith("YAML syntax error: "));
}

TEST(ManifestDecoderTest, EmptyAndNullDocumentsAreSkipped) {
  for (const std::string& text : {std::string(""), std::string("---\n"), std::string("---\n---\n"),
                                  std::string("# only a comment\n"), std::string("~\n"),
                                  std::string("null\n---\n...\n"), std::string("\xEF\xBB\xBF\n")}) {
    SCOPED_TRACE(text);
    DecodeResult result = Decode(text);
    EXPECT_THAT(result.objects, IsEmpty());
    EXPECT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  }
}

TEST(ManifestDecoderTest, DocumentMarkersDirectivesAndEndMarkersSplitCorrectly) {
  DecodeResult result = Decode(R"(%YAML 1.1
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
...
--- # a comment after the marker
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
--- {apiVersion: v1, kind: Namespace, metadata: {name: c}}
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<Namespace> namespaces = ObjectsOf<Namespace>(result);
  ASSERT_THAT(namespaces, SizeIs(3));
  EXPECT_EQ(namespaces[0].source.line, 3);
  EXPECT_EQ(namespaces[1].source.line, 8);
  EXPECT_EQ(namespaces[2].name, "c");
  EXPECT_EQ(namespaces[2].source.line, 12);
}

TEST(ManifestDecoderTest, WindowsLineEndingsDecode) {
  DecodeResult result = Decode(
      "apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n---\r\n"
      "apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: b\r\n");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<Namespace> namespaces = ObjectsOf<Namespace>(result);
  ASSERT_THAT(namespaces, SizeIs(2));
  EXPECT_EQ(namespaces[1].name, "b");
  EXPECT_EQ(namespaces[1].source.line, 6);
}

TEST(ManifestDecoderTest, TypedListItemsMayOmitApiVersionAndKind) {
  DecodeResult result = Decode(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- metadata: {name: a, namespace: ns1}
  spec: {podSelector: {}}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: b, namespace: ns1}
  spec: {podSelector: {}}
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<NetworkPolicy> policies = ObjectsOf<NetworkPolicy>(result);
  ASSERT_THAT(policies, SizeIs(2));
  EXPECT_EQ(policies[0].name, "a");
  EXPECT_EQ(policies[0].source.line, 4);
}

TEST(ManifestDecoderTest, InvalidListItemIsDroppedAndTheOthersKept) {
  DecodeResult result = Decode(R"(apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: good}}
- {apiVersion: v1, kind: Namespace, metadata: {name: Bad}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}
- null
- {apiVersion: v1, kind: List, items: []}
- {apiVersion: v1, kind: Namespace, metadata: {name: also-good}}
)");
  std::vector<Namespace> namespaces = ObjectsOf<Namespace>(result);
  ASSERT_THAT(namespaces, SizeIs(2));
  EXPECT_EQ(namespaces[1].name, "also-good");
  ASSERT_THAT(result.errors, SizeIs(4)) << ErrorsText(result);
  ExpectError(result.errors[0], 5, "items[1].metadata.name",
              "invalid value \"Bad\": must consist of lowercase alphanumeric characters or '-', "
              "and must start and end with an alphanumeric character");
  ExpectError(result.errors[1], 6, "items[2].kind", "unsupported kind apps/v1 Deployment");
  ExpectError(result.errors[2], 3, "items[3]",
              "must be a map (an object with apiVersion and kind), got null");
  ExpectError(result.errors[3], 8, "items[4]", "a list inside a List is not supported");
}

TEST(ManifestDecoderTest, KindAndApiVersionAreChecked) {
  struct Case {
    std::string name;
    std::string text;
    std::string path;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"other kind", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}", "kind",
       "unsupported kind apps/v1 Deployment"},
      {"old API group", "apiVersion: extensions/v1beta1\nkind: NetworkPolicy", "apiVersion",
       "unsupported apiVersion extensions/v1beta1 for kind NetworkPolicy (want "
       "networking.k8s.io/v1)"},
      {"wrong case kind", "apiVersion: v1\nkind: namespace", "kind",
       "unsupported kind v1 namespace"},
      {"missing kind", "apiVersion: v1\nmetadata: {name: a}", "kind", "required"},
      {"missing apiVersion", "kind: Pod\nmetadata: {name: a}", "apiVersion", "required"},
      {"kind not a string", "apiVersion: v1\nkind: [Pod]", "kind", "must be a string, got a list"},
      {"a list document", "- apiVersion: v1\n- kind: Pod", "",
       "must be a map (an object with apiVersion and kind), got a list"},
      {"a scalar document", "hello", "",
       "must be a map (an object with apiVersion and kind), got a string \"hello\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeResult result = Decode(c.text);
    EXPECT_THAT(result.objects, IsEmpty());
    ASSERT_THAT(result.errors, SizeIs(1)) << ErrorsText(result);
    EXPECT_EQ(result.errors[0].field_path, c.path);
    EXPECT_EQ(result.errors[0].message, c.message);
  }
}

TEST(ManifestDecoderTest, ErrorToStringNamesFileLineAndPath) {
  DecodeError error{
      {"policies.yaml", 14}, "spec.ingress[0].ports[1].endPort", "must be >= port 8080"};
  EXPECT_EQ(error.ToString(),
            "policies.yaml:14: spec.ingress[0].ports[1].endPort: must be >= port 8080");
  EXPECT_EQ((DecodeError{{"a.yaml", 3}, "", "YAML syntax error: x"}).ToString(),
            "a.yaml:3: YAML syntax error: x");
  EXPECT_EQ((DecodeError{{"a.yaml", 0}, "kind", "required"}).ToString(), "a.yaml: kind: required");
}

}  // namespace
}  // namespace flatwall::compiler
