// Validation: every rule the decoder enforces, with the exact line, field path and message
// of each error, and the object rejected whole. Decoding of valid objects:
// manifest_decoder_test.cc.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/manifest_decoder.h"
#include "tests/testing/manifest_test_util.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::ErrorsText;
using ::testing::IsEmpty;

struct WantError {
  int line;
  std::string path;
  std::string message;
};

struct Case {
  std::string name;
  std::string text;
  std::vector<WantError> want;
};

// A NetworkPolicy whose spec body starts on line 7.
std::string Policy(const std::string& spec_body) {
  return "apiVersion: networking.k8s.io/v1\n"  // 1
         "kind: NetworkPolicy\n"               // 2
         "metadata:\n"                         // 3
         "  name: p\n"                         // 4
         "  namespace: ns1\n"                  // 5
         "spec:\n" +                           // 6
         spec_body;
}

// Decodes each case, expects no object and exactly the listed errors, in order.
void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeResult result = DecodeManifest("test.yaml", c.text);
    EXPECT_THAT(result.objects, IsEmpty()) << "an invalid object is rejected whole";
    std::vector<std::string> got;
    for (const DecodeError& error : result.errors) got.push_back(error.ToString());
    std::vector<std::string> want;
    for (const WantError& error : c.want) {
      want.push_back(DecodeError{{"test.yaml", error.line}, error.path, error.message}.ToString());
    }
    EXPECT_EQ(got, want) << c.text;
  }
}

TEST(ManifestValidationTest, PolicyPorts) {
  const std::string kRange = ": must be between 1 and 65535, inclusive";
  RunCases({
      {"endPort below port",
       Policy("  podSelector: {}\n"
              "  ingress:\n"
              "  - ports:\n"
              "    - port: 8080\n"
              "      endPort: 8000\n"),
       {{11, "spec.ingress[0].ports[0].endPort", "must be >= port 8080"}}},
      {"endPort above 65535",
       Policy("  podSelector: {}\n  egress:\n  - ports: [{port: 8080, endPort: 70000}]\n"),
       {{9, "spec.egress[0].ports[0].endPort", "invalid value 70000" + kRange}}},
      {"endPort with a named port",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: http, endPort: 90}]\n"),
       {{9, "spec.ingress[0].ports[0].endPort", "may not be specified when port is a name"}}},
      {"endPort without port",
       Policy(
           "  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: UDP\n      endPort: 90\n"),
       {{11, "spec.ingress[0].ports[0].endPort", "may not be specified without port"}}},
      {"endPort quoted",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 80, endPort: \"90\"}]\n"),
       {{9, "spec.ingress[0].ports[0].endPort", "must be an integer, got a string \"90\""}}},
      {"port zero",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 0}]\n"),
       {{9, "spec.ingress[0].ports[0].port", "invalid value 0" + kRange}}},
      {"port 65536",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 65536}]\n"),
       {{9, "spec.ingress[0].ports[0].port", "invalid value 65536" + kRange}}},
      {"port negative",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: -1}]\n"),
       {{9, "spec.ingress[0].ports[0].port", "invalid value -1" + kRange}}},
      {"port beyond 64 bits",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 99999999999999999999}]\n"),
       {{9, "spec.ingress[0].ports[0].port", "integer 99999999999999999999 is out of range"}}},
      {"port with a fraction",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 80.5}]\n"),
       {{9, "spec.ingress[0].ports[0].port",
         "must be an integer or a string, got a number (\"80.5\")"}}},
      {"port in octal",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 010}]\n"),
       {{9, "spec.ingress[0].ports[0].port", "must be a decimal integer, got \"010\""}}},
      {"port a map",
       Policy("  podSelector: {}\n  ingress:\n  - ports:\n    - port: {number: 80}\n"),
       {{10, "spec.ingress[0].ports[0].port", "must be an integer or a string, got a map"}}},
      {"port name too long",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: averyverylongname}]\n"),
       {{9, "spec.ingress[0].ports[0].port",
         "invalid port name \"averyverylongname\": must be no more than 15 characters"}}},
      {"port name upper case",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: HTTP}]\n"),
       {{9, "spec.ingress[0].ports[0].port",
         "invalid port name \"HTTP\": must contain only lowercase letters (a-z), digits (0-9) "
         "and '-'"}}},
      {"port number quoted",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: \"8080\"}]\n"),
       {{9, "spec.ingress[0].ports[0].port",
         "invalid port name \"8080\": must contain at least one letter (a-z) (a port number "
         "must not be quoted)"}}},
      {"port name with leading hyphen",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: -http}]\n"),
       {{9, "spec.ingress[0].ports[0].port",
         "invalid port name \"-http\": must not begin or end with '-'"}}},
      {"port name with double hyphen",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{port: ht--tp}]\n"),
       {{9, "spec.ingress[0].ports[0].port",
         "invalid port name \"ht--tp\": must not contain consecutive '-'"}}},
      {"protocol in lower case",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{protocol: tcp, port: 80}]\n"),
       {{9, "spec.ingress[0].ports[0].protocol",
         "unsupported value \"tcp\": must be one of TCP, UDP, SCTP"}}},
      {"protocol ICMP",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{protocol: ICMP}]\n"),
       {{9, "spec.ingress[0].ports[0].protocol",
         "unsupported value \"ICMP\": must be one of TCP, UDP, SCTP"}}},
  });
}

TEST(ManifestValidationTest, PolicyPeers) {
  RunCases({
      {"empty peer",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n    - {}\n"),
       {{10, "spec.ingress[0].from[0]",
         "must specify at least one of podSelector, namespaceSelector or ipBlock"}}},
      {"null selectors are no selectors",
       Policy("  podSelector: {}\n  egress:\n  - to:\n    - podSelector:\n      namespaceSelector: "
              "~\n"),
       {{10, "spec.egress[0].to[0]",
         "must specify at least one of podSelector, namespaceSelector or ipBlock"}}},
      {"ipBlock with a selector",
       Policy("  podSelector: {}\n"
              "  ingress:\n"
              "  - from:\n"
              "    - ipBlock: {cidr: 10.0.0.0/8}\n"
              "      namespaceSelector: {}\n"),
       {{10, "spec.ingress[0].from[0]",
         "ipBlock may not be combined with podSelector or namespaceSelector"}}},
      {"cidr missing",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        except: []\n"),
       {{10, "spec.ingress[0].from[0].ipBlock.cidr", "required"}}},
      {"cidr empty",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: \"\"}\n"),
       {{10, "spec.ingress[0].from[0].ipBlock.cidr", "required"}}},
      {"cidr with a bad length",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n"),
       {{10, "spec.ingress[0].from[0].ipBlock.cidr",
         "invalid CIDR: \"10.0.0.0/33\" has an invalid prefix length (0-32 allowed)"}}},
      {"cidr without a length",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1}\n"),
       {{10, "spec.ingress[0].from[0].ipBlock.cidr",
         "invalid CIDR: \"10.0.0.1\" is not a CIDR (missing /prefix-length)"}}},
      {"except outside cidr",
       Policy("  podSelector: {}\n"
              "  egress:\n"
              "  - to:\n"
              "    - ipBlock:\n"
              "        cidr: 10.0.0.0/16\n"
              "        except:\n"
              "        - 10.0.1.0/24\n"
              "        - 10.1.0.0/24\n"),
       {{14, "spec.egress[0].to[0].ipBlock.except[1]",
         "must be a strict subset of cidr 10.0.0.0/16"}}},
      {"except equal to cidr",
       Policy("  podSelector: {}\n"
              "  egress:\n"
              "  - to:\n"
              "    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}\n"),
       {{10, "spec.egress[0].to[0].ipBlock.except[0]",
         "must be a strict subset of cidr 10.0.0.0/16"}}},
      {"except wider than cidr, host bits cleared first",
       Policy("  podSelector: {}\n"
              "  egress:\n"
              "  - to:\n"
              "    - ipBlock: {cidr: 10.0.7.7/16, except: [10.0.0.0/8]}\n"),
       {{10, "spec.egress[0].to[0].ipBlock.except[0]",
         "must be a strict subset of cidr 10.0.0.0/16"}}},
      {"except of the other family",
       Policy("  podSelector: {}\n"
              "  egress:\n"
              "  - to:\n"
              "    - ipBlock: {cidr: 10.0.0.0/16, except: ['fd00::/64']}\n"),
       {{10, "spec.egress[0].to[0].ipBlock.except[0]",
         "must be in the same address family as cidr 10.0.0.0/16"}}},
      {"except not a CIDR",
       Policy("  podSelector: {}\n"
              "  egress:\n"
              "  - to:\n"
              "    - ipBlock:\n"
              "        cidr: 10.0.0.0/16\n"
              "        except: [10.0.0.300/24]\n"),
       {{12, "spec.egress[0].to[0].ipBlock.except[0]",
         "invalid CIDR: \"10.0.0.300/24\" is not a valid CIDR"}}},
  });
}

TEST(ManifestValidationTest, LabelSelectors) {
  RunCases({
      {"podSelector missing",
       Policy("  ingress: []\n"),
       {{6, "spec.podSelector", "required (use {} to select every pod in the namespace)"}}},
      {"podSelector null",
       Policy("  podSelector:\n"),
       {{7, "spec.podSelector", "required (use {} to select every pod in the namespace)"}}},
      {"spec missing",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n",
       {{1, "spec.podSelector", "required (use {} to select every pod in the namespace)"}}},
      {"operator in the wrong case",
       Policy(
           "  podSelector:\n    matchExpressions:\n    - {key: app, operator: in, values: [a]}\n"),
       {{9, "spec.podSelector.matchExpressions[0].operator",
         "unsupported value \"in\": must be one of In, NotIn, Exists, DoesNotExist"}}},
      {"In without values",
       Policy("  podSelector:\n    matchExpressions:\n    - key: app\n      operator: In\n"),
       {{9, "spec.podSelector.matchExpressions[0].values",
         "must be non-empty when operator is In or NotIn"}}},
      {"NotIn with an empty list",
       Policy("  podSelector:\n"
              "    matchExpressions:\n"
              "    - key: app\n"
              "      operator: NotIn\n"
              "      values: []\n"),
       {{11, "spec.podSelector.matchExpressions[0].values",
         "must be non-empty when operator is In or NotIn"}}},
      {"Exists with values",
       Policy("  podSelector: {}\n"
              "  ingress:\n"
              "  - from:\n"
              "    - namespaceSelector:\n"
              "        matchExpressions:\n"
              "        - key: team\n"
              "          operator: Exists\n"
              "          values: [a]\n"),
       {{14, "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values",
         "must be empty when operator is Exists or DoesNotExist"}}},
      {"expression without key or operator",
       Policy("  podSelector:\n    matchExpressions:\n    - values: [a]\n"),
       {{9, "spec.podSelector.matchExpressions[0].key", "required"},
        {9, "spec.podSelector.matchExpressions[0].operator", "required"}}},
      {"expression key not a qualified name",
       Policy("  podSelector:\n    matchExpressions:\n    - {key: a/b/c, operator: Exists}\n"),
       {{9, "spec.podSelector.matchExpressions[0].key",
         "invalid value \"a/b/c\": must be a name with an optional DNS subdomain prefix and '/' "
         "(e.g. 'example.com/MyName')"}}},
      {"expression value not a label value",
       Policy("  podSelector:\n"
              "    matchExpressions:\n"
              "    - key: app\n"
              "      operator: In\n"
              "      values: [ok, -bad]\n"),
       {{11, "spec.podSelector.matchExpressions[0].values[1]",
         "invalid value \"-bad\": must be empty or consist of alphanumeric characters, '-', '_' "
         "or '.', and must start and end with an alphanumeric character"}}},
      {"matchLabels key with a bad prefix",
       Policy("  podSelector:\n    matchLabels:\n      Example.com/app: web\n"),
       {{9, "spec.podSelector.matchLabels[Example.com/app]",
         "invalid key \"Example.com/app\": prefix part must consist of lowercase alphanumeric "
         "characters, '-' or '.', and must start and end with an alphanumeric character"}}},
      {"matchLabels key with a space",
       Policy("  podSelector:\n    matchLabels: {\"my app\": web}\n"),
       {{8, "spec.podSelector.matchLabels[my app]",
         "invalid key \"my app\": name part must consist of alphanumeric characters, '-', '_' "
         "or '.', and must start and end with an alphanumeric character"}}},
      {"matchLabels value too long",
       Policy("  podSelector:\n    matchLabels:\n      app: " + std::string(64, 'a') + "\n"),
       {{9, "spec.podSelector.matchLabels[app]",
         "invalid value \"" + std::string(64, 'a') + "\": must be no more than 63 characters"}}},
      {"matchLabels value a number",
       Policy("  podSelector:\n    matchLabels:\n      version: 1.0\n"),
       {{9, "spec.podSelector.matchLabels[version]",
         "must be a string, got a number (\"1.0\"); quote it"}}},
      {"matchLabels value a YAML 1.1 boolean",
       Policy("  podSelector:\n    matchLabels:\n      enabled: on\n"),
       {{9, "spec.podSelector.matchLabels[enabled]",
         "must be a string, got a boolean (\"on\"); quote it"}}},
      {"matchLabels key a YAML 1.1 boolean",
       Policy("  podSelector:\n    matchLabels:\n      y: a\n"),
       {{9, "spec.podSelector.matchLabels[y]",
         "key \"y\" is not read as a string by Kubernetes' YAML; quote it"}}},
      {"matchLabels a list",
       Policy("  podSelector:\n    matchLabels: [app, web]\n"),
       {{8, "spec.podSelector.matchLabels", "must be a map, got a list"}}},
  });
}

TEST(ManifestValidationTest, PolicyTypesAndRuleShapes) {
  RunCases({
      {"unsupported policy type",
       Policy("  podSelector: {}\n  policyTypes:\n  - Ingress\n  - egress\n"),
       {{10, "spec.policyTypes[1]", "unsupported value \"egress\": must be Ingress or Egress"}}},
      {"duplicate policy type",
       Policy("  podSelector: {}\n  policyTypes: [Egress, Egress]\n"),
       {{8, "spec.policyTypes[1]", "duplicate value \"Egress\""}}},
      {"policyTypes a string",
       Policy("  podSelector: {}\n  policyTypes: Ingress\n"),
       {{8, "spec.policyTypes", "must be a list, got a string \"Ingress\""}}},
      {"ingress a string",
       Policy("  podSelector: {}\n  ingress: all\n"),
       {{8, "spec.ingress", "must be a list, got a string \"all\""}}},
      {"from a map",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n      podSelector: {}\n"),
       {{9, "spec.ingress[0].from", "must be a list, got a map"}}},
      {"spec a number, reported once",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: 5\n",
       {{4, "spec", "must be a map, got a number (\"5\")"}}},
      {"rule a number",
       Policy("  podSelector: {}\n  egress: [42]\n"),
       {{8, "spec.egress[0]", "must be a map, got a number (\"42\")"}}},
  });
}

TEST(ManifestValidationTest, StrictFieldsInPolicies) {
  RunCases({
      {"misspelt spec field",
       Policy("  podSelector: {}\n  ingres: [{}]\n"),
       {{8, "spec.ingres", "unknown field"}}},
      {"spec field in the wrong case",
       Policy("  podselector: {}\n"),
       {{6, "spec.podSelector", "required (use {} to select every pod in the namespace)"},
        {7, "spec.podselector", "unknown field; did you mean \"podSelector\"?"}}},
      {"from in an egress rule",
       Policy("  podSelector: {}\n  egress:\n  - from: [{podSelector: {}}]\n"),
       {{9, "spec.egress[0].from", "unknown field"}}},
      {"deep inside a peer",
       Policy("  podSelector: {}\n"
              "  ingress:\n"
              "  - from:\n"
              "    - podSelector:\n"
              "        matchLabel: {app: web}\n"),
       {{11, "spec.ingress[0].from[0].podSelector.matchLabel", "unknown field"}}},
      {"in an ipBlock",
       Policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, exept: "
              "[]}\n"),
       {{10, "spec.ingress[0].from[0].ipBlock.exept", "unknown field"}}},
      {"in a port",
       Policy("  podSelector: {}\n  ingress:\n  - ports: [{protocl: UDP}]\n"),
       {{9, "spec.ingress[0].ports[0].protocl", "unknown field"}}},
      {"in an expression",
       Policy("  podSelector:\n    matchExpressions: [{key: a, operator: Exists, value: []}]\n"),
       {{8, "spec.podSelector.matchExpressions[0].value", "unknown field"}}},
      {"in metadata",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n"
       "  namespce: shop\nspec: {podSelector: {}}\n",
       {{5, "metadata.namespce", "unknown field"}}},
      {"at the top",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
       "spec: {podSelector: {}}\nspecs: {}\n",
       {{5, "specs", "unknown field"}}},
      {"duplicate field",
       Policy("  podSelector: {}\n  ingress: [{}]\n  ingress: []\n"),
       {{9, "spec.ingress", "duplicate field (first set on line 8)"}}},
      {"YAML merge key",
       Policy("  podSelector: {}\n  <<: {ingress: [{}]}\n"),
       {{8, "spec.<<", "YAML merge keys (<<) are not supported"}}},
  });
}

TEST(ManifestValidationTest, EveryErrorOfAnObjectIsReported) {
  RunCases(
      {{"three errors",
        Policy("  podSelector:\n"
               "    matchLabels: {\"a b\": c}\n"
               "  ingress:\n"
               "  - ports:\n"
               "    - {port: 80, endPort: 79}\n"
               "    - {protocol: ICMP}\n"
               "  policyTypes: [Ingress, Both]\n"),
        {{8, "spec.podSelector.matchLabels[a b]",
          "invalid key \"a b\": name part must consist of alphanumeric characters, '-', '_' "
          "or '.', and must start and end with an alphanumeric character"},
         {11, "spec.ingress[0].ports[0].endPort", "must be >= port 80"},
         {12, "spec.ingress[0].ports[1].protocol",
          "unsupported value \"ICMP\": must be one of TCP, UDP, SCTP"},
         {13, "spec.policyTypes[1]", "unsupported value \"Both\": must be Ingress or Egress"}}}});
}

TEST(ManifestValidationTest, ObjectMetadata) {
  const std::string kLabelRule =
      "must consist of lowercase alphanumeric characters or '-', and must start and end with an "
      "alphanumeric character";
  RunCases({
      {"policy name missing",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  namespace: ns1\n"
       "spec: {podSelector: {}}\n",
       {{3, "metadata.name", "required"}}},
      {"policy name not a subdomain",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: My_Policy}\n"
       "spec: {podSelector: {}}\n",
       {{3, "metadata.name",
         "invalid value \"My_Policy\": must consist of lowercase alphanumeric characters, '-' or "
         "'.', and must start and end with an alphanumeric character"}}},
      {"policy name too long",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " +
           std::string(254, 'a') + "\nspec: {podSelector: {}}\n",
       {{4, "metadata.name",
         "invalid value \"" + std::string(64, 'a') +
             "...\": must be no more than 253 characters"}}},
      {"namespace not a label",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
       "metadata: {name: p, namespace: shop.eu}\nspec: {podSelector: {}}\n",
       {{3, "metadata.namespace", "invalid value \"shop.eu\": " + kLabelRule}}},
      {"annotation key invalid",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n"
       "  annotations:\n    /note: x\nspec: {podSelector: {}}\n",
       {{6, "metadata.annotations[/note]",
         "invalid key \"/note\": prefix part must not be empty"}}},
      {"generation not a number",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
       "metadata: {name: p, generation: two}\nspec: {podSelector: {}}\n",
       {{3, "metadata.generation", "must be an integer, got a string \"two\""}}},
      {"namespace name with a dot",
       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop.eu\n",
       {{4, "metadata.name", "invalid value \"shop.eu\": " + kLabelRule}}},
      {"namespace label value invalid",
       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    team: a/b\n",
       {{6, "metadata.labels[team]",
         "invalid value \"a/b\": must be empty or consist of alphanumeric characters, '-', '_' "
         "or '.', and must start and end with an alphanumeric character"}}},
      {"metadata a string, reported once",
       "apiVersion: v1\nkind: Namespace\nmetadata: shop\n",
       {{3, "metadata", "must be a map, got a string \"shop\""}}},
      {"label key with a control character, escaped in the path",
       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: {\"a\\tb\": x}\n",
       {{5, "metadata.labels[a\\tb]",
         "invalid key \"a\\tb\": name part must consist of alphanumeric characters, '-', '_' "
         "or '.', and must start and end with an alphanumeric character"}}},
      {"service name not a DNS-1035 label",
       "apiVersion: v1\nkind: Service\nmetadata: {name: 1st-service}\n",
       {{3, "metadata.name",
         "invalid value \"1st-service\": must consist of lowercase alphanumeric characters or "
         "'-', start with a letter and end with an alphanumeric character"}}},
  });
}

TEST(ManifestValidationTest, PodFields) {
  auto pod = [](const std::string& rest) {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" + rest;  // rest starts on line 4
  };
  RunCases({
      {"containerPort missing",
       pod("spec:\n  containers:\n  - name: a\n    ports:\n    - name: http\n"),
       {{8, "spec.containers[0].ports[0].containerPort", "required"}}},
      {"containerPort out of range",
       pod("spec:\n  initContainers:\n  - name: a\n    ports: [{containerPort: 0}]\n"),
       {{7, "spec.initContainers[0].ports[0].containerPort",
         "invalid value 0: must be between 1 and 65535, inclusive"}}},
      {"container port name invalid",
       pod("spec:\n  containers:\n  - ports: [{containerPort: 80, name: Web}]\n"),
       {{6, "spec.containers[0].ports[0].name",
         "invalid port name \"Web\": must contain only lowercase letters (a-z), digits (0-9) "
         "and '-'"}}},
      {"container port names repeated",
       pod("spec:\n"
           "  containers:\n"
           "  - ports:\n"
           "    - {containerPort: 80, name: web}\n"
           "    - {containerPort: 81, name: web}\n"),
       {{8, "spec.containers[0].ports[1].name", "duplicate port name \"web\""}}},
      {"container port protocol invalid",
       pod("spec:\n  containers:\n  - ports: [{containerPort: 80, protocol: HTTP}]\n"),
       {{6, "spec.containers[0].ports[0].protocol",
         "unsupported value \"HTTP\": must be one of TCP, UDP, SCTP"}}},
      {"containers a map",
       pod("spec:\n  containers: {name: a}\n"),
       {{5, "spec.containers", "must be a list, got a map"}}},
      {"hostNetwork quoted",
       pod("spec:\n  hostNetwork: \"true\"\n"),
       {{5, "spec.hostNetwork", "must be true or false, got a string \"true\""}}},
      {"hostNetwork with an explicit tag that does not fit",
       pod("spec:\n  hostNetwork: !!bool maybe\n"),
       {{5, "spec.hostNetwork", "must be true or false, got a string \"maybe\""}}},
      {"pod IP invalid",
       pod("status:\n  podIP: 10.0.0.256\n"),
       {{5, "status.podIP", "invalid value \"10.0.0.256\": \"10.0.0.256\" is not an IP address"}}},
      {"pod IPs entry without ip",
       pod("status:\n  podIPs:\n  - ip: 10.0.0.1\n  - {}\n"),
       {{7, "status.podIPs[1].ip", "required"}}},
      {"pod IP IPv4-mapped",
       pod("status:\n  podIPs: [{ip: '::ffff:10.0.0.1'}]\n"),
       {{5, "status.podIPs[0].ip",
         "invalid value \"::ffff:10.0.0.1\": IPv4-mapped IPv6 address \"::ffff:10.0.0.1\" is "
         "not supported"}}},
      {"pod label key invalid",
       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    -app: x\n",
       {{6, "metadata.labels[-app]",
         "invalid key \"-app\": name part must consist of alphanumeric characters, '-', '_' or "
         "'.', and must start and end with an alphanumeric character"}}},
  });
}

TEST(ManifestValidationTest, ServiceFields) {
  auto service = [](const std::string& spec) {
    return "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n" + spec;  // line 5
  };
  RunCases({
      {"port missing",
       service("  ports: [{name: web, targetPort: 80}]\n"),
       {{5, "spec.ports[0].port", "required"}}},
      {"targetPort invalid",
       service("  ports: [{port: 80, targetPort: Web}]\n"),
       {{5, "spec.ports[0].targetPort",
         "invalid port name \"Web\": must contain only lowercase letters (a-z), digits (0-9) "
         "and '-'"}}},
      {"port name invalid",
       service("  ports: [{port: 80, name: Web}]\n"),
       {{5, "spec.ports[0].name",
         "invalid value \"Web\": must consist of lowercase alphanumeric characters or '-', and "
         "must start and end with an alphanumeric character"}}},
      {"clusterIP invalid",
       service("  clusterIP: 10.96.0\n"),
       {{5, "spec.clusterIP", "invalid value \"10.96.0\": \"10.96.0\" is not an IP address"}}},
      {"selector value invalid",
       service("  selector: {app: -web}\n"),
       {{5, "spec.selector[app]",
         "invalid value \"-web\": must be empty or consist of alphanumeric characters, '-', '_' "
         "or '.', and must start and end with an alphanumeric character"}}},
  });
}

}  // namespace
}  // namespace flatwall::compiler
