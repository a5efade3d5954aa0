#include "tests/testing/e2e_scenarios.h"

#include <sstream>

namespace flatwall::testing {
namespace {

using compiler::Protocol;

// A NetworkPolicy document; `spec` is YAML at column 0, indented here under `spec:`.
std::string Policy(const std::string& ns, const std::string& name, const std::string& spec) {
  std::ostringstream yaml;
  yaml << "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  namespace: '"
       << ns << "'\n  name: " << name << "\nspec:\n";
  std::istringstream lines(spec);
  for (std::string line; std::getline(lines, line);) yaml << "  " << line << "\n";
  yaml << "---\n";
  return yaml.str();
}

E2eProbe Probe(uint16_t port, Protocol protocol, TruthTable expected) {
  return E2eProbe{port, protocol, std::move(expected)};
}

TruthTable All() { return TruthTable(true); }
TruthTable None() { return TruthTable(false); }

constexpr Protocol kTcp = Protocol::kTcp;
constexpr Protocol kUdp = Protocol::kUdp;
constexpr Protocol kSctp = Protocol::kSctp;

// x/a accepts only what `from`/`also` allow; every other flow is untouched.
TruthTable OnlyIntoXa(const std::vector<std::string>& sources) {
  TruthTable table = All().Deny("*", "x/a");
  for (const std::string& source : sources) table.Allow(source, "x/a");
  return table.AllowLoopback();
}

}  // namespace

std::string ProbeName(const E2eProbe& probe) {
  const char* name = probe.protocol == kTcp ? "TCP" : probe.protocol == kUdp ? "UDP" : "SCTP";
  return std::string(name) + "/" + std::to_string(probe.port);
}

std::vector<E2eScenario> E2eScenarios() {
  const std::string kSelectA = "podSelector:\n  matchLabels:\n    pod: a\n";
  std::vector<E2eScenario> s;

  s.push_back({"NoPoliciesAllowEverything", "",
               {Probe(80, kTcp, All()), Probe(81, kUdp, All()), Probe(80, kSctp, All())}});

  s.push_back({"DefaultDenyIngressIsolatesOnlyItsNamespace",
               Policy("x", "deny-ingress", "podSelector: {}\npolicyTypes: [Ingress]\n"),
               {Probe(80, kTcp, All().Deny("*", "x/*").AllowLoopback()),
                Probe(81, kUdp, All().Deny("*", "x/*").AllowLoopback())}});

  s.push_back({"DefaultDenyEgressBlocksEverythingLeavingTheNamespace",
               Policy("x", "deny-egress", "podSelector: {}\npolicyTypes: [Egress]\n"),
               {Probe(80, kTcp, All().Deny("x/*", "*").AllowLoopback()),
                Probe(80, kSctp, All().Deny("x/*", "*").AllowLoopback())}});

  s.push_back({"DefaultDenyAllBlocksBothDirections",
               Policy("x", "deny-all", "podSelector: {}\npolicyTypes: [Ingress, Egress]\n"),
               {Probe(80, kTcp, All().Deny("*", "x/*").Deny("x/*", "*").AllowLoopback())}});

  s.push_back({"AllowAllIngressRuleAllowsEveryone",
               Policy("x", "allow-all", "podSelector: {}\ningress:\n- {}\n"),
               {Probe(80, kTcp, All()), Probe(81, kUdp, All())}});

  s.push_back({"AllowsAreUnionedOverPolicies",
               Policy("x", "deny-ingress", "podSelector: {}\npolicyTypes: [Ingress]\n") +
                   Policy("x", "allow-all", "podSelector: {}\ningress:\n- {}\n"),
               {Probe(80, kTcp, All())}});

  s.push_back({"PodSelectorPeerMeansThePolicysOwnNamespace",
               Policy("x", "a-from-b",
                      kSelectA + "ingress:\n- from:\n  - podSelector:\n      matchLabels:\n"
                                 "        pod: b\n"),
               {Probe(80, kTcp, OnlyIntoXa({"x/b"}))}});

  s.push_back({"NamespaceSelectorPeerAllowsEveryPodOfMatchingNamespaces",
               Policy("x", "a-from-y",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector:\n      matchLabels:\n"
                                 "        ns: \"y\"\n"),
               {Probe(80, kTcp, OnlyIntoXa({"y/*"}))}});

  s.push_back({"NamespaceSelectorNotInMatchesTheOtherNamespaces",
               Policy("x", "a-not-from-y",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector:\n"
                                 "      matchExpressions:\n"
                                 "      - {key: ns, operator: NotIn, values: ['y']}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"x/*", "z/*"}))}});

  s.push_back({"PodSelectorInExpressionAllowsTheListedPods",
               Policy("x", "a-from-b-c",
                      kSelectA + "ingress:\n- from:\n  - podSelector:\n"
                                 "      matchExpressions:\n"
                                 "      - {key: pod, operator: In, values: [b, c]}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"x/b", "x/c"}))}});

  s.push_back({"NamespaceAndPodSelectorInOnePeerAreAnded",
               Policy("x", "a-from-y-b",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector:\n"
                                 "      matchLabels: {ns: 'y'}\n"
                                 "    podSelector:\n      matchLabels: {pod: b}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"y/b"}))}});

  s.push_back({"SeparatePeersAreOred",
               Policy("x", "a-from-y-or-b",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector:\n"
                                 "      matchLabels: {ns: 'y'}\n"
                                 "  - podSelector:\n      matchLabels: {pod: b}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"y/*", "x/b"}))}});

  s.push_back({"EmptyNamespaceSelectorWithPodSelectorMatchesEveryNamespace",
               Policy("x", "a-from-any-b",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector: {}\n"
                                 "    podSelector:\n      matchLabels: {pod: b}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"*/b"}))}});

  s.push_back({"EmptyNamespaceSelectorAloneMatchesEveryPod",
               Policy("x", "a-from-all-pods",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector: {}\n"),
               {Probe(80, kTcp, All()), Probe(81, kUdp, All())}});

  s.push_back({"IngressPortAllowsOnlyThatPortAndProtocol",
               Policy("x", "a-port-80", kSelectA + "ingress:\n- ports:\n  - port: 80\n"),
               {Probe(80, kTcp, All()), Probe(81, kTcp, OnlyIntoXa({})),
                Probe(80, kUdp, OnlyIntoXa({}))}});

  s.push_back({"IngressNamedPortResolvesOnTheSelectedPod",
               Policy("x", "a-serve-81-tcp",
                      kSelectA + "ingress:\n- ports:\n  - port: serve-81-tcp\n"),
               {Probe(81, kTcp, All()), Probe(80, kTcp, OnlyIntoXa({})),
                Probe(81, kUdp, OnlyIntoXa({}))}});

  s.push_back({"NamedUdpPortAllowsUdpOnly",
               Policy("x", "a-serve-80-udp",
                      kSelectA + "ingress:\n- ports:\n  - {protocol: UDP, port: serve-80-udp}\n"),
               {Probe(80, kUdp, All()), Probe(80, kTcp, OnlyIntoXa({}))}});

  s.push_back({"NamedPortWithTheWrongProtocolAllowsNothing",
               Policy("x", "a-tcp-serve-80-udp",
                      kSelectA + "ingress:\n- ports:\n  - {protocol: TCP, port: serve-80-udp}\n"),
               {Probe(80, kUdp, OnlyIntoXa({})), Probe(80, kTcp, OnlyIntoXa({}))}});

  s.push_back({"MultiplePortsInOneRuleAreOred",
               Policy("x", "a-two-ports",
                      kSelectA + "ingress:\n- ports:\n  - port: 80\n  - {protocol: UDP, port: 81}\n"),
               {Probe(80, kTcp, All()), Probe(81, kUdp, All()), Probe(81, kTcp, OnlyIntoXa({})),
                Probe(80, kUdp, OnlyIntoXa({}))}});

  s.push_back({"EndPortRangeIncludesBothEnds",
               Policy("x", "a-80-81", kSelectA + "ingress:\n- ports:\n  - {port: 80, endPort: 81}\n"),
               {Probe(80, kTcp, All()), Probe(81, kTcp, All()), Probe(80, kUdp, OnlyIntoXa({}))}});

  s.push_back({"EndPortRangeExcludesPortsBelowItsStart",
               Policy("x", "a-81-1000",
                      kSelectA + "ingress:\n- ports:\n  - {port: 81, endPort: 1000}\n"),
               {Probe(80, kTcp, OnlyIntoXa({})), Probe(81, kTcp, All())}});

  s.push_back({"EgressToNamespaceAllowsOnlyThatNamespace",
               Policy("x", "a-to-y",
                      kSelectA + "policyTypes: [Egress]\negress:\n- to:\n  - namespaceSelector:\n"
                                 "      matchLabels: {ns: 'y'}\n"),
               {Probe(80, kTcp, All().Deny("x/a", "*").Allow("x/a", "y/*").AllowLoopback())}});

  s.push_back({"EgressNamedPortResolvesOnEachDestination",
               Policy("x", "a-to-serve-81-tcp",
                      kSelectA + "policyTypes: [Egress]\negress:\n- ports:\n  - port: serve-81-tcp\n"),
               {Probe(81, kTcp, All()), Probe(80, kTcp, All().Deny("x/a", "*").AllowLoopback())}});

  s.push_back({"FlowNeedsEgressOfTheSourceAndIngressOfTheDestination",
               Policy("x", "a-to-y-b",
                      kSelectA + "policyTypes: [Egress]\negress:\n- to:\n"
                                 "  - namespaceSelector: {matchLabels: {ns: 'y'}}\n"
                                 "    podSelector: {matchLabels: {pod: b}}\n") +
                   Policy("y", "b-from-z",
                          "podSelector: {matchLabels: {pod: b}}\ningress:\n- from:\n"
                          "  - namespaceSelector: {matchLabels: {ns: z}}\n"),
               {Probe(80, kTcp, All().Deny("x/a", "*").Deny("*", "y/b").Allow("z/*", "y/b")
                                    .AllowLoopback())}});

  s.push_back({"PolicyOnlySelectsPodsOfItsOwnNamespace",
               Policy("y", "deny-ingress", "podSelector: {}\npolicyTypes: [Ingress]\n"),
               {Probe(80, kTcp, All().Deny("*", "y/*").AllowLoopback())}});

  s.push_back({"IpBlockAppliesToPodAddresses",
               Policy("x", "a-from-subnet",
                      kSelectA + "ingress:\n- from:\n  - ipBlock: {cidr: 10.10.1.0/24}\n"),
               {Probe(80, kTcp, All())}});

  s.push_back({"IpBlockExceptExcludesOnePod",
               Policy("x", "a-from-subnet-but-y-b",
                      kSelectA + "ingress:\n- from:\n  - ipBlock:\n      cidr: 10.10.1.0/24\n"
                                 "      except: [10.10.1.22/32]\n"),
               {Probe(80, kTcp, All().Deny("y/b", "x/a"))}});

  // 10.10.1.16/28 ends at 10.10.1.31, which is z/a: the range's last address.
  s.push_back({"IpBlockExceptExcludesARangeUpToItsLastAddress",
               Policy("x", "a-from-subnet-but-y",
                      kSelectA + "ingress:\n- from:\n  - ipBlock:\n      cidr: 10.10.1.0/24\n"
                                 "      except: [10.10.1.16/28]\n"),
               {Probe(80, kTcp, All().Deny("y/*", "x/a").Deny("z/a", "x/a"))}});

  s.push_back({"EgressIpBlockSelectsPodsByAddress",
               Policy("x", "a-to-z-b-c",
                      kSelectA + "policyTypes: [Egress]\negress:\n- to:\n"
                                 "  - ipBlock: {cidr: 10.10.1.32/28}\n"),
               {Probe(80, kTcp, All().Deny("x/a", "*").Allow("x/a", "z/b").Allow("x/a", "z/c")
                                    .AllowLoopback())}});

  s.push_back({"EgressAllowingOnlyDnsBlocksOtherTraffic",
               Policy("x", "dns-only",
                      "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports:\n"
                      "  - {protocol: UDP, port: 53}\n"),
               {Probe(80, kTcp, All().Deny("x/*", "*").AllowLoopback()),
                Probe(80, kUdp, All().Deny("x/*", "*").AllowLoopback())}});

  s.push_back({"IngressPolicyTypeIgnoresEgressRules",
               Policy("x", "ingress-only",
                      "podSelector: {}\npolicyTypes: [Ingress]\negress:\n- to:\n"
                      "  - podSelector: {matchLabels: {pod: b}}\n"),
               {Probe(80, kTcp, All().Deny("*", "x/*").AllowLoopback())}});

  s.push_back({"EgressRulesWithoutPolicyTypesIsolateBothDirections",
               Policy("x", "a-to-b", kSelectA + "egress:\n- to:\n  - podSelector: {matchLabels: {pod: b}}\n"),
               {Probe(80, kTcp, All().Deny("*", "x/a").Deny("x/a", "*").Allow("x/a", "x/b")
                                    .AllowLoopback())}});

  s.push_back({"ExistsDoesNotExistAndNotInExpressionsCombine",
               Policy("x", "a-from-not-c",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector:\n"
                                 "      matchExpressions: [{key: missing, operator: DoesNotExist}]\n"
                                 "    podSelector:\n      matchExpressions:\n"
                                 "      - {key: pod, operator: Exists}\n"
                                 "      - {key: pod, operator: NotIn, values: [c]}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"*/a", "*/b"}))}});

  s.push_back({"NotInMatchesPodsMissingTheKey",
               Policy("x", "a-from-non-web",
                      kSelectA + "ingress:\n- from:\n  - podSelector:\n      matchExpressions:\n"
                                 "      - {key: app, operator: NotIn, values: [web]}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"x/*"}))}});

  s.push_back({"SctpPortAllowsOnlySctp",
               Policy("x", "a-sctp-80", kSelectA + "ingress:\n- ports:\n  - {protocol: SCTP, port: 80}\n"),
               {Probe(80, kSctp, All()), Probe(80, kTcp, OnlyIntoXa({})),
                Probe(81, kSctp, OnlyIntoXa({}))}});

  s.push_back({"RuleWithoutPortsAllowsEveryProtocol",
               Policy("x", "a-from-x", kSelectA + "ingress:\n- from:\n  - podSelector: {}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"x/*"})), Probe(81, kUdp, OnlyIntoXa({"x/*"})),
                Probe(80, kSctp, OnlyIntoXa({"x/*"}))}});

  s.push_back({"PolicySelectingNoPodChangesNothing",
               Policy("x", "d-only",
                      "podSelector: {matchLabels: {pod: d}}\npolicyTypes: [Ingress, Egress]\n"),
               {Probe(80, kTcp, All())}});

  s.push_back({"MatchLabelsAndMatchExpressionsAreAnded",
               Policy("x", "a-from-b-everywhere",
                      kSelectA + "ingress:\n- from:\n  - namespaceSelector: {}\n    podSelector:\n"
                                 "      matchLabels: {pod: b}\n      matchExpressions:\n"
                                 "      - {key: pod, operator: In, values: [b, c]}\n"),
               {Probe(80, kTcp, OnlyIntoXa({"*/b"}))}});

  s.push_back({"EmptyEgressRuleAllowsEverything",
               Policy("x", "allow-all-egress", "podSelector: {}\npolicyTypes: [Egress]\negress:\n- {}\n"),
               {Probe(80, kTcp, All()), Probe(81, kSctp, All())}});

  s.push_back({"DenyEverythingButSameNamespaceTraffic",
               Policy("x", "same-ns", "podSelector: {}\ningress:\n- from:\n  - podSelector: {}\n") +
                   Policy("y", "same-ns", "podSelector: {}\ningress:\n- from:\n  - podSelector: {}\n") +
                   Policy("z", "same-ns", "podSelector: {}\ningress:\n- from:\n  - podSelector: {}\n"),
               {Probe(80, kTcp, None().Allow("x/*", "x/*").Allow("y/*", "y/*").Allow("z/*", "z/*")),
                Probe(81, kUdp, None().Allow("x/*", "x/*").Allow("y/*", "y/*").Allow("z/*", "z/*"))}});

  s.push_back({"EgressDenyInOneNamespaceAndIngressAllowInAnother",
               Policy("y", "deny-egress", "podSelector: {}\npolicyTypes: [Egress]\n") +
                   Policy("z", "allow-from-y",
                          "podSelector: {}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {ns: 'y'}}\n"),
               {Probe(80, kTcp, All().Deny("y/*", "*").Deny("*", "z/*").AllowLoopback())}});
  return s;
}

}  // namespace flatwall::testing
