#include "tests/datapath/scenario.h"

#include <netinet/in.h>

#include "tests/testing/rule_shapes.h"

namespace flatwall::agent::testing::scenario {

Tables StandardTables() {
  constexpr uint8_t kBoth = FW_EP_ISOLATED_INGRESS | FW_EP_ISOLATED_EGRESS;
  constexpr uint8_t kAllKinds = FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_CIDR | FW_RULES_HAVE_ANY;
  Tables tables;
  tables.endpoints = {
      MakeEndpoint({kServer, kServerId, kServerRules, kBoth, kAllKinds,
                    FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_CIDR}),
      MakeEndpoint({kServer6, kServerId, kServerRules, kBoth, kAllKinds,
                    FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_CIDR}),
      MakeEndpoint({kOpen, kOpenId, kOpenRules, 0, 0, 0}),
      MakeEndpoint({kIngressOnly, kIngressOnlyId, kIngressOnlyRules, FW_EP_ISOLATED_INGRESS, 0, 0}),
      MakeEndpoint({kClient, kClientId, kClientRules, FW_EP_ISOLATED_EGRESS, 0,
                    FW_RULES_HAVE_IDENTITY}),
      MakeEndpoint({kClient6, kClientId, kClientRules, FW_EP_ISOLATED_EGRESS, 0,
                    FW_RULES_HAVE_IDENTITY}),
  };
  tables.ipcache = {
      MakeIpcache(kServer, kServerId),       MakeIpcache(kServer6, kServerId),
      MakeIpcache(kOpen, kOpenId),           MakeIpcache(kIngressOnly, kIngressOnlyId),
      MakeIpcache(kClient, kClientId),       MakeIpcache(kClient6, kClientId),
      MakeIpcache(kWebA, kWebAId),           MakeIpcache(kWebB, kWebBId),
      MakeIpcache(kPinger, kPingerId),       MakeIpcache(kPinger6, kPingerId),
      MakeIpcache(kTcpAny, kTcpAnyId),       MakeIpcache(kBackend, kBackendId),
      MakeIpcache(kOtherBackend, kOtherBackendId),
      MakeIpcache(kPodInBlock, kPodInBlockId, kBlockClass),
      MakeIpcache(kNode, FW_IDENTITY_HOST),  MakeIpcache(kNode6, FW_IDENTITY_HOST),
  };
  tables.cidrs = {
      MakeCidr("10.2.0.0/16", kBlockClass),
      MakeCidr("10.2.3.0/24", kExceptClass),
      MakeCidr("fd00:2::/32", kBlock6Class),
      MakeCidr("fd00:2:3::/48", kExcept6Class),
  };
  const fw_direction in = FW_DIR_INGRESS;
  const fw_direction out = FW_DIR_EGRESS;
  tables.rules = {
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_IDENTITY,
                .remote = kClientId, .protocol = IPPROTO_TCP, .port = 80,
                .rule_id = kClientTcp80}),
      // endPort 8192..8703 is the single prefix 8192/7.
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_IDENTITY,
                .remote = kClientId, .protocol = IPPROTO_UDP, .port = 8192, .port_bits = 7,
                .rule_id = kClientUdpRange}),
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_CIDR,
                .remote = kBlockClass, .protocol = IPPROTO_TCP, .port = 443,
                .rule_id = kBlockTcp443}),
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_CIDR,
                .remote = kBlock6Class, .protocol = IPPROTO_TCP, .port = 443,
                .rule_id = kBlock6Tcp443}),
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_ANY,
                .protocol = IPPROTO_SCTP, .port = 5000, .rule_id = kAnySctp5000}),
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_IDENTITY,
                .remote = kPingerId, .rule_id = kPingerAll}),
      MakeRule({.ruleset = kServerRules, .direction = in, .kind = FW_REMOTE_IDENTITY,
                .remote = kTcpAnyId, .protocol = IPPROTO_TCP, .rule_id = kTcpAnyAllPorts}),
      // A named port resolves per destination identity in egress rules.
      MakeRule({.ruleset = kServerRules, .direction = out, .kind = FW_REMOTE_IDENTITY,
                .remote = kWebAId, .protocol = IPPROTO_TCP, .port = 8080,
                .rule_id = kWebANamedPort}),
      MakeRule({.ruleset = kServerRules, .direction = out, .kind = FW_REMOTE_IDENTITY,
                .remote = kWebBId, .protocol = IPPROTO_TCP, .port = 9090,
                .rule_id = kWebBNamedPort}),
      MakeRule({.ruleset = kServerRules, .direction = out, .kind = FW_REMOTE_CIDR,
                .remote = kBlockClass, .protocol = IPPROTO_UDP, .port = 53,
                .rule_id = kBlockUdp53}),
      MakeRule({.ruleset = kClientRules, .direction = out, .kind = FW_REMOTE_IDENTITY,
                .remote = kServerId, .protocol = IPPROTO_TCP, .port = 80,
                .rule_id = kClientToServer}),
      MakeRule({.ruleset = kClientRules, .direction = out, .kind = FW_REMOTE_IDENTITY,
                .remote = kBackendId, .protocol = IPPROTO_TCP, .port = 80,
                .rule_id = kClientToBackend}),
  };
  // So that tests upserting one of these endpoints on its own write what the compiler would.
  ::flatwall::testing::AddRuleShapes(tables.rules, tables.endpoints);
  return tables;
}

}  // namespace flatwall::agent::testing::scenario
