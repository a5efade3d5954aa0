// Header handling of the real programs: IPv4 options, IPv6 extension headers, fragments,
// non-IP frames, neighbour discovery, and every malformed or truncated header, which
// must get its defined drop reason and never be read as ports.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <ctime>
#include <string>
#include <vector>

#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the tests' vocabulary
using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kEthernet = 14;
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kDestinationOptions = 60;
constexpr uint8_t kAuthentication = 51;

class PacketParsingTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Seed(StandardTables());
  }

  // Runs on a clean conntrack, so an allowed packet shows how it was judged.
  RunResult Fresh(fw_hook hook, const std::vector<uint8_t>& frame) {
    ClearFlows();
    return Run(hook, frame);
  }
  std::string ReasonOf(fw_hook hook, const std::vector<uint8_t>& frame) {
    return std::string(ReasonName(Run(hook, frame).reason));
  }
};

// A representative packet, its transport header's offset in the frame and the bytes the
// datapath needs of that header.
struct Sample {
  std::string name;
  std::vector<uint8_t> frame;
  size_t l4_offset;
  size_t l4_needed;
  uint32_t rule_id;  // the full packet is allowed by this rule
};

std::vector<Sample> Samples() {
  const std::vector<uint8_t> router_alert = {0x01, 0x01, 0x94, 0x04, 0x00, 0x00};
  return {
      {"IPv4 TCP with options",
       PacketBuilder(Ip(kClient), Ip(kServer)).Ipv4Options(router_alert).Tcp(40000, 80).Build(),
       kEthernet + 28, 20, kClientTcp80},
      {"IPv4 UDP", PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).Payload(4).Build(),
       kEthernet + 20, 8, kClientUdpRange},
      {"IPv4 SCTP", PacketBuilder(Ip(kWorld), Ip(kServer)).Sctp(40000, 5000).Build(),
       kEthernet + 20, 12, kAnySctp5000},
      {"IPv4 ICMP echo", PacketBuilder(Ip(kPinger), Ip(kServer)).IcmpEcho(5).Build(),
       kEthernet + 20, 8, kPingerAll},
      {"IPv6 TCP with hop-by-hop and destination options",
       PacketBuilder(Ip(kClient6), Ip(kServer6))
           .Ipv6ExtensionHeader(kHopByHop, 8)
           .Ipv6ExtensionHeader(kDestinationOptions, 16)
           .Tcp(40000, 80)
           .Build(),
       kEthernet + 40 + 24, 20, kClientTcp80},
      {"IPv6 UDP", PacketBuilder(Ip(kPinger6), Ip(kServer6)).Udp(40000, 53).Payload(4).Build(),
       kEthernet + 40, 8, kPingerAll},
      {"IPv6 SCTP", PacketBuilder(Ip(kExternal6), Ip(kServer6)).Sctp(40000, 5000).Build(),
       kEthernet + 40, 12, kAnySctp5000},
      {"IPv6 ICMPv6 echo behind a routing header",
       PacketBuilder(Ip(kPinger6), Ip(kServer6))
           .Ipv6ExtensionHeader(kRouting, 8)
           .IcmpEcho(5)
           .Build(),
       kEthernet + 48, 8, kPingerAll},
  };
}

// Cuts the frame at `length` and makes the IP length fields agree with the cut, as a
// sender of a short datagram would.
std::vector<uint8_t> CutDatagram(const std::vector<uint8_t>& frame, size_t length) {
  std::vector<uint8_t> cut(frame.begin(), frame.begin() + length);
  const bool v4 = frame[12] == 0x08;
  const size_t field = v4 ? kEthernet + 2 : kEthernet + 4;
  const size_t covered_from = v4 ? kEthernet : kEthernet + 40;
  if (length >= field + 2 && length >= covered_from) {
    const uint16_t value = htons(static_cast<uint16_t>(length - covered_from));
    std::memcpy(&cut[field], &value, 2);
  }
  return cut;
}

TEST_F(PacketParsingTest, FullSamplesAreAllowedByTheirRule) {
  for (const Sample& sample : Samples()) {
    SCOPED_TRACE(sample.name);
    const RunResult result = Fresh(FW_HOOK_TO_POD, sample.frame);
    EXPECT_EQ(ReasonName(result.reason), "RULE");
    EXPECT_EQ(result.rule_id, sample.rule_id);
  }
}

TEST_F(PacketParsingTest, FrameTruncatedAtEveryByteIsDroppedAsMalformed) {
  for (const Sample& sample : Samples()) {
    const size_t fixed_header = kEthernet + (sample.frame[12] == 0x08 ? 20 : 40);
    for (size_t length = 0; length < sample.frame.size(); ++length) {
      SCOPED_TRACE(sample.name + ", " + std::to_string(length) + " bytes");
      const std::vector<uint8_t> cut(sample.frame.begin(), sample.frame.begin() + length);
      ClearFlows();
      absl::StatusOr<RunResult> result = runner_->Run(FW_HOOK_TO_POD, cut);
      if (!result.ok() && length < fixed_header) {
        // BPF_PROG_TEST_RUN delivers no frame shorter than an Ethernet header, nor (on
        // recent kernels) an IP frame without its fixed header; the program would drop it.
        EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test-run")));
        continue;
      }
      ASSERT_THAT(result, ::flatwall::testing::IsOk());
      EXPECT_EQ(result->verdict, FW_VERDICT_DENY);
      // The IP header's length claims more than the frame holds.
      EXPECT_EQ(ReasonName(result->reason), "MALFORMED");
    }
  }
}

TEST_F(PacketParsingTest, DatagramTruncatedAtEveryByteGetsTheReasonOfTheCutHeader) {
  for (const Sample& sample : Samples()) {
    for (size_t length = kEthernet; length < sample.frame.size(); ++length) {
      SCOPED_TRACE(sample.name + ", " + std::to_string(length) + " bytes");
      ClearFlows();
      absl::StatusOr<RunResult> run = runner_->Run(FW_HOOK_TO_POD, CutDatagram(sample.frame, length));
      if (!run.ok() && length < kEthernet + (sample.frame[12] == 0x08 ? 20 : 40)) {
        EXPECT_THAT(run, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test-run")));
        continue;  // not deliverable by BPF_PROG_TEST_RUN, as above
      }
      ASSERT_THAT(run, ::flatwall::testing::IsOk());
      const RunResult& result = *run;
      if (length < sample.l4_offset) {
        EXPECT_EQ(ReasonName(result.reason), "MALFORMED");
        EXPECT_EQ(result.verdict, FW_VERDICT_DENY);
      } else if (length < sample.l4_offset + sample.l4_needed) {
        EXPECT_EQ(ReasonName(result.reason), "MALFORMED_L4");
        EXPECT_EQ(result.verdict, FW_VERDICT_DENY);
      } else {  // only payload is missing
        EXPECT_EQ(ReasonName(result.reason), "RULE");
        EXPECT_EQ(result.rule_id, sample.rule_id);
      }
    }
  }
}

TEST_F(PacketParsingTest, MalformedHeadersGetTheirDropReason) {
  const std::vector<uint8_t> tcp4 = PacketBuilder(Ip(kClient), Ip(kServer)).Tcp(40000, 80).Build();
  const std::vector<uint8_t> udp4 =
      PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).Build();
  const std::vector<uint8_t> tcp6 =
      PacketBuilder(Ip(kClient6), Ip(kServer6)).Tcp(40000, 80).Build();
  auto with = [](std::vector<uint8_t> frame, size_t offset, uint8_t value) {
    frame[offset] = value;
    return frame;
  };
  auto with16 = [](std::vector<uint8_t> frame, size_t offset, uint16_t value) {
    frame[offset] = value >> 8;
    frame[offset + 1] = value & 0xff;
    return frame;
  };
  std::vector<uint8_t> ten_headers_deep =
      PacketBuilder(Ip(kClient6), Ip(kServer6)).Tcp(40000, 80).Build();
  {
    PacketBuilder deep(Ip(kClient6), Ip(kServer6));
    for (int i = 0; i < 9; ++i) deep.Ipv6ExtensionHeader(kDestinationOptions, 8);
    ten_headers_deep = deep.Tcp(40000, 80).Build();
  }
  std::vector<uint8_t> padded_udp = udp4;  // datagram of 24 bytes, frame padded beyond
  padded_udp = with16(padded_udp, kEthernet + 2, 24);

  struct Case {
    std::string name;
    std::vector<uint8_t> frame;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"IPv4 ethertype, version 6", with(tcp4, kEthernet, 0x65), "MALFORMED"},
      {"IPv4 header length 16 bytes", with(tcp4, kEthernet, 0x44), "MALFORMED"},
      {"IPv4 header length past the frame",
       with(std::vector<uint8_t>(tcp4.begin(), tcp4.begin() + kEthernet + 24), kEthernet, 0x4f),
       "MALFORMED"},
      {"IPv4 total length below the header", with16(tcp4, kEthernet + 2, 19), "MALFORMED"},
      {"IPv4 total length past the frame", with16(tcp4, kEthernet + 2, 1500), "MALFORMED"},
      {"TCP data offset 4", with(tcp4, kEthernet + 20 + 12, 0x40), "MALFORMED_L4"},
      {"TCP data offset past the datagram", with(tcp4, kEthernet + 20 + 12, 0xf0),
       "MALFORMED_L4"},
      {"UDP ports beyond the datagram's length", padded_udp, "MALFORMED_L4"},
      {"IPv6 ethertype, version 4", with(tcp6, kEthernet, 0x45), "MALFORMED"},
      {"IPv6 payload length past the frame", with16(tcp6, kEthernet + 4, 1500), "MALFORMED"},
      {"IPv6 extension headers past the limit", ten_headers_deep, "EXT_HEADERS"},
      {"IPv6 extension header longer than the datagram",
       with(PacketBuilder(Ip(kClient6), Ip(kServer6))
                .Ipv6ExtensionHeader(kHopByHop, 8)
                .Tcp(40000, 80)
                .Build(),
            kEthernet + 40 + 1, 200),
       "MALFORMED"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RunResult result = Fresh(FW_HOOK_TO_POD, c.frame);
    EXPECT_EQ(result.verdict, FW_VERDICT_DENY);
    EXPECT_EQ(ReasonName(result.reason), c.reason);
  }
}

TEST_F(PacketParsingTest, OptionsAndExtensionHeadersAreWalkedToThePorts) {
  PacketBuilder eight_deep(Ip(kClient6), Ip(kServer6));
  for (int i = 0; i < 8; ++i) eight_deep.Ipv6ExtensionHeader(kDestinationOptions, 8);
  struct Case {
    std::string name;
    std::vector<uint8_t> frame;
  };
  const std::vector<Case> cases = {
      {"IPv4, 40 bytes of options",
       PacketBuilder(Ip(kClient), Ip(kServer)).Ipv4Options(std::vector<uint8_t>(40, 1)).Tcp(40000, 80).Build()},
      {"IPv6, eight extension headers", eight_deep.Tcp(40000, 80).Build()},
      {"IPv6, authentication header",
       PacketBuilder(Ip(kClient6), Ip(kServer6)).Ipv6ExtensionHeader(kAuthentication, 24).Tcp(40000, 80).Build()},
      {"IPv6, a long hop-by-hop header",
       PacketBuilder(Ip(kClient6), Ip(kServer6)).Ipv6ExtensionHeader(kHopByHop, 256).Tcp(40000, 80).Build()},
      {"IPv6, atomic fragment",
       PacketBuilder(Ip(kClient6), Ip(kServer6)).Fragment(5, 0, false).Tcp(40000, 80).Build()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RunResult result = Fresh(FW_HOOK_TO_POD, c.frame);
    EXPECT_EQ(ReasonName(result.reason), "RULE");
    EXPECT_EQ(result.rule_id, kClientTcp80);
  }
}

TEST_F(PacketParsingTest, LaterFragmentsTakeTheVerdictOfTheirFirstFragment) {
  // Bytes a careless parser would read as UDP ports 40000 -> 8192 (allowed).
  const std::vector<uint8_t> looks_like_udp = {0x9c, 0x40, 0x20, 0x00, 0, 16, 0, 0};
  for (const bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    const char* client = v6 ? kClient6 : kClient;
    const char* server = v6 ? kServer6 : kServer;
    auto first = [&](uint32_t id, uint16_t port) {
      return PacketBuilder(Ip(client), Ip(server)).Udp(40000, port).Payload(16).Fragment(id, 0, true).Build();
    };
    auto later = [&](uint32_t id) {
      return PacketBuilder(Ip(client), Ip(server)).Udp(40000, 8192).Payload(looks_like_udp).Fragment(id, 24, false).Build();
    };
    ClearFlows();
    RunResult result = Run(FW_HOOK_TO_POD, first(77, 8192));
    EXPECT_EQ(ReasonName(result.reason), "RULE");
    result = Run(FW_HOOK_TO_POD, later(77));
    EXPECT_EQ(result.verdict, FW_VERDICT_ALLOW);
    EXPECT_EQ(ReasonName(result.reason), "RULE");
    EXPECT_EQ(result.rule_id, kClientUdpRange);

    EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, first(78, 9000)), "DEFAULT_DENY");
    EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, later(78)), "DEFAULT_DENY");

    // The same datagram id judged at another hook is another entry.
    EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD, later(77)), "FRAGMENT");
    result = Run(FW_HOOK_TO_POD, later(79));
    EXPECT_EQ(result.verdict, FW_VERDICT_DENY);
    EXPECT_EQ(ReasonName(result.reason), "FRAGMENT");
  }
}

TEST_F(PacketParsingTest, LaterFragmentPastTheReassemblyTimeIsDropped) {
  const std::vector<uint8_t> first =
      PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).Payload(16).Fragment(90, 0, true).Build();
  const std::vector<uint8_t> later =
      PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).Payload(8).Fragment(90, 24, false).Build();
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, first), "RULE");

  const int fd = datapath_->map_fd(DatapathMap::kFragments);
  fw_frag_key key{};
  ASSERT_EQ(bpf_map_get_next_key(fd, nullptr, &key), 0);
  fw_frag_value value{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &key, &value), 0);
  value.first_seen_ns -= 31ull * 1000000000ull;
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &value, BPF_EXIST), 0);

  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, later), "FRAGMENT");
}

TEST_F(PacketParsingTest, FirstFragmentWithoutTheWholeTransportHeaderIsMalformed) {
  const std::vector<uint8_t> tiny = PacketBuilder(Ip(kClient), Ip(kServer))
                                        .Transport(IPPROTO_TCP, {0x9c, 0x40, 0, 80, 0, 0, 0, 1})
                                        .Fragment(91, 0, true)
                                        .Build();
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, tiny), "MALFORMED_L4");
}

TEST_F(PacketParsingTest, NonIpAndNeighbourDiscoveryAlwaysPass) {
  struct Case {
    std::string name;
    fw_hook hook;
    std::vector<uint8_t> frame;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"ARP to an isolated pod", FW_HOOK_TO_POD, PacketBuilder::Arp(), "NOT_IP"},
      {"ARP from an isolated pod", FW_HOOK_FROM_POD, PacketBuilder::Arp(), "NOT_IP"},
      {"router solicitation", FW_HOOK_FROM_POD,
       PacketBuilder(Ip(kServer6), Ip("ff02::2")).Icmp(133, 0, {0, 0, 0, 0}).Build(),
       "NEIGHBOR_DISCOVERY"},
      {"router advertisement", FW_HOOK_TO_POD,
       PacketBuilder(Ip("fe80::1"), Ip(kServer6)).Icmp(134, 0, std::vector<uint8_t>(12)).Build(),
       "NEIGHBOR_DISCOVERY"},
      {"neighbour solicitation", FW_HOOK_TO_POD,
       PacketBuilder(Ip("fe80::1"), Ip(kServer6)).Icmp(135, 0, std::vector<uint8_t>(20)).Build(),
       "NEIGHBOR_DISCOVERY"},
      {"neighbour advertisement", FW_HOOK_FROM_POD,
       PacketBuilder(Ip(kServer6), Ip("fe80::1")).Icmp(136, 0, std::vector<uint8_t>(20)).Build(),
       "NEIGHBOR_DISCOVERY"},
      {"redirect", FW_HOOK_TO_POD,
       PacketBuilder(Ip("fe80::1"), Ip(kServer6)).Icmp(137, 0, std::vector<uint8_t>(36)).Build(),
       "NEIGHBOR_DISCOVERY"},
      {"ICMPv6 type 138 is not neighbour discovery", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kExternal6), Ip(kServer6)).Icmp(138, 0, {0, 0, 0, 0}).Build(),
       "DEFAULT_DENY"},
      {"ICMP timestamp under an all-protocol rule", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kPinger), Ip(kServer)).Icmp(13, 0, std::vector<uint8_t>(16)).Build(),
       "RULE"},
      {"ICMP timestamp from elsewhere", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kWorld), Ip(kServer)).Icmp(13, 0, std::vector<uint8_t>(16)).Build(),
       "DEFAULT_DENY"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReasonOf(c.hook, c.frame), c.reason);
  }
}

}  // namespace
}  // namespace flatwall::agent::testing
