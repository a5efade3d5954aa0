// The policy tables most datapath tests share: a handful of local pods (endpoints) and
// remote peers, with rules of every kind the compiler emits — identity (pod and namespace
// selectors), CIDR class (ipBlock with except), any peer, single ports, endPort ranges
// (as port prefixes), per-identity named-port resolutions, protocol and all-protocol
// wildcards — in IPv4 and IPv6.
//
// Not here: the fixture (datapath_fixture.h).
#ifndef FLATWALL_TESTS_DATAPATH_SCENARIO_H_
#define FLATWALL_TESTS_DATAPATH_SCENARIO_H_

#include <cstdint>

#include "tests/datapath/datapath_fixture.h"

namespace flatwall::agent::testing::scenario {

// Local endpoints.
inline constexpr char kServer[] = "10.1.0.10";      // isolated both ways, ruleset kServerRules
inline constexpr char kServer6[] = "fd00:1::10";    // the same pod's IPv6 address
inline constexpr char kOpen[] = "10.1.0.11";        // selected by no policy
inline constexpr char kIngressOnly[] = "10.1.0.12"; // isolated for ingress, no rules
inline constexpr char kClient[] = "10.1.0.20";      // isolated for egress
inline constexpr char kClient6[] = "fd00:1::20";
// Remote pods (IP cache only).
inline constexpr char kWebA[] = "10.1.0.30";
inline constexpr char kWebB[] = "10.1.0.31";
inline constexpr char kPinger[] = "10.1.0.32";
inline constexpr char kPinger6[] = "fd00:1::32";
inline constexpr char kTcpAny[] = "10.1.0.33";
inline constexpr char kBackend[] = "10.3.0.50";        // on another node
inline constexpr char kOtherBackend[] = "10.3.0.51";   // on another node, not allowed
inline constexpr char kPodInBlock[] = "10.2.5.5";      // a pod inside the ipBlock
// The node and the outside world.
inline constexpr char kNode[] = "10.0.0.1";
inline constexpr char kNode6[] = "fd00::1";
inline constexpr char kExternal[] = "10.2.1.1";     // in ipBlock 10.2.0.0/16
inline constexpr char kExcepted[] = "10.2.3.1";     // in its except 10.2.3.0/24
inline constexpr char kWorld[] = "192.168.1.1";     // in no ipBlock
inline constexpr char kExternal6[] = "fd00:2:1::1"; // in ipBlock fd00:2::/32
inline constexpr char kExcepted6[] = "fd00:2:3::1"; // in its except fd00:2:3::/48
inline constexpr char kUnmanaged[] = "10.9.9.9";    // no endpoint, not in the IP cache
inline constexpr char kClusterIp[] = "10.96.0.10";  // a Service address
inline constexpr char kClusterIp6[] = "fd00:96::10";

inline constexpr uint32_t kServerId = 1001;
inline constexpr uint32_t kClientId = 1002;
inline constexpr uint32_t kWebAId = 1003;
inline constexpr uint32_t kWebBId = 1004;
inline constexpr uint32_t kPingerId = 1005;
inline constexpr uint32_t kTcpAnyId = 1006;
inline constexpr uint32_t kPodInBlockId = 1007;
inline constexpr uint32_t kOpenId = 1010;
inline constexpr uint32_t kIngressOnlyId = 1011;
inline constexpr uint32_t kBackendId = 1020;
inline constexpr uint32_t kOtherBackendId = 1021;

inline constexpr uint32_t kBlockClass = 5;      // 10.2.0.0/16
inline constexpr uint32_t kExceptClass = 6;     // 10.2.3.0/24
inline constexpr uint32_t kBlock6Class = 8;     // fd00:2::/32
inline constexpr uint32_t kExcept6Class = 9;    // fd00:2:3::/48

inline constexpr uint32_t kServerRules = 7;
inline constexpr uint32_t kOpenRules = 8;
inline constexpr uint32_t kIngressOnlyRules = 9;
inline constexpr uint32_t kClientRules = 10;

// Server ingress.
inline constexpr uint32_t kClientTcp80 = 101;     // from client, TCP 80
inline constexpr uint32_t kClientUdpRange = 102;  // from client, UDP 8192-8703 (endPort)
inline constexpr uint32_t kBlockTcp443 = 105;     // from ipBlock 10.2.0.0/16 except /24, TCP 443
inline constexpr uint32_t kAnySctp5000 = 106;     // from anyone, SCTP 5000
inline constexpr uint32_t kPingerAll = 107;       // from pinger, every protocol
inline constexpr uint32_t kTcpAnyAllPorts = 108;  // from tcp-any, every TCP port
inline constexpr uint32_t kBlock6Tcp443 = 109;    // from ipBlock fd00:2::/32 except /48, TCP 443
// Server egress.
inline constexpr uint32_t kWebANamedPort = 201;   // to web-a, named port "http" = 8080
inline constexpr uint32_t kWebBNamedPort = 202;   // to web-b, named port "http" = 9090
inline constexpr uint32_t kBlockUdp53 = 203;      // to the ipBlock, UDP 53
// Client egress.
inline constexpr uint32_t kClientToServer = 301;   // to server, TCP 80
inline constexpr uint32_t kClientToBackend = 302;  // to backend, TCP 80

// Every table above.
Tables StandardTables();

}  // namespace flatwall::agent::testing::scenario

#endif  // FLATWALL_TESTS_DATAPATH_SCENARIO_H_
