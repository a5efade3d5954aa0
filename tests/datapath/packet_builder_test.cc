// The packet builder produces the bytes the datapath tests rely on: header layouts,
// lengths, fragment fields, extension-header chains and checksums. Needs no privileges.
#include "agent/packet_builder.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"

namespace flatwall::agent::testing {
namespace {

uint16_t At16(const std::vector<uint8_t>& bytes, size_t offset) {
  return static_cast<uint16_t>(bytes[offset] << 8 | bytes[offset + 1]);
}

// A correct one's-complement checksum over data that includes it sums to 0xffff.
uint16_t Fold(const std::vector<uint8_t>& bytes, size_t from, size_t to, uint32_t sum = 0) {
  for (size_t i = from; i < to; i += 2) sum += (bytes[i] << 8) | (i + 1 < to ? bytes[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

TEST(PacketBuilderTest, Ipv4TcpWithOptionsHasConsistentLengthsAndChecksums) {
  const std::vector<uint8_t> frame = PacketBuilder(Ip("10.0.0.1"), Ip("10.0.0.2"))
                                         .Ipv4Options({1, 1, 1})
                                         .Tcp(1234, 80, PacketBuilder::kSyn)
                                         .Payload(5)
                                         .Build();
  ASSERT_EQ(frame.size(), 14u + 24 + 20 + 5);
  EXPECT_EQ(At16(frame, 12), 0x0800);
  EXPECT_EQ(frame[14], 0x46);  // version 4, IHL 6
  EXPECT_EQ(At16(frame, 16), 24 + 20 + 5);
  EXPECT_EQ(frame[23], 6);
  EXPECT_EQ(Fold(frame, 14, 14 + 24), 0xffff);
  EXPECT_EQ(At16(frame, 38), 1234);
  EXPECT_EQ(At16(frame, 40), 80);
  EXPECT_EQ(frame[38 + 13], PacketBuilder::kSyn);
  // TCP checksum with the pseudo-header (addresses, protocol, length).
  const uint32_t pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 25;
  EXPECT_EQ(Fold(frame, 38, frame.size(), pseudo), 0xffff);
}

TEST(PacketBuilderTest, Ipv6ChainsExtensionHeadersAndFragmentHeader) {
  const std::vector<uint8_t> frame = PacketBuilder(Ip("fd00::1"), Ip("fd00::2"))
                                         .Ipv6ExtensionHeader(0, 8)
                                         .Ipv6ExtensionHeader(51, 16)
                                         .Fragment(0x01020304, 16, true)
                                         .Udp(1, 2)
                                         .Build();
  EXPECT_EQ(At16(frame, 12), 0x86dd);
  EXPECT_EQ(frame[14] >> 4, 6);
  EXPECT_EQ(frame[20], 0);                        // next: hop-by-hop
  EXPECT_EQ(frame[54], 51);                       // hop-by-hop -> AH
  EXPECT_EQ(frame[62], 44);                       // AH -> fragment
  EXPECT_EQ(frame[63], 16 / 4 - 2);               // AH length in 4-byte units minus 2
  EXPECT_EQ(frame[78], 17);                       // fragment -> UDP
  EXPECT_EQ(At16(frame, 80), 16 | 1);             // offset 16, more fragments
  EXPECT_EQ(frame[82], 1);
  EXPECT_EQ(frame[85], 4);                        // identification 0x01020304
  // A later fragment carries no UDP header: only the chain and (no) payload.
  EXPECT_EQ(At16(frame, 18), 8 + 16 + 8);
  EXPECT_EQ(frame.size(), 14u + 40 + 8 + 16 + 8);
}

TEST(PacketBuilderTest, FirstFragmentKeepsTransportAndIpv4FieldsAreSet) {
  const std::vector<uint8_t> frame = PacketBuilder(Ip("10.0.0.1"), Ip("10.0.0.2"))
                                         .Fragment(0xbeef, 0, true)
                                         .Udp(1, 2)
                                         .Payload(8)
                                         .Build();
  EXPECT_EQ(At16(frame, 18), 0xbeef);
  EXPECT_EQ(At16(frame, 20), 0x2000);  // MF, offset 0
  EXPECT_EQ(At16(frame, 34), 1);
  EXPECT_EQ(At16(frame, 38), 16);  // UDP length
}

TEST(PacketBuilderTest, IcmpEchoAndErrorsFollowTheFamily) {
  const std::vector<uint8_t> echo4 = PacketBuilder(Ip("10.0.0.1"), Ip("10.0.0.2")).IcmpEcho(77).Build();
  EXPECT_EQ(echo4[23], 1);
  EXPECT_EQ(echo4[34], 8);
  EXPECT_EQ(At16(echo4, 38), 77);
  EXPECT_EQ(Fold(echo4, 34, echo4.size()), 0xffff);

  const std::vector<uint8_t> reply6 =
      PacketBuilder(Ip("fd00::1"), Ip("fd00::2")).IcmpEcho(77, true).Build();
  EXPECT_EQ(reply6[20], 58);
  EXPECT_EQ(reply6[54], 129);

  const std::vector<uint8_t> quoted = PacketBuilder(Ip("10.0.0.2"), Ip("10.0.0.1")).Udp(5, 6).BuildDatagram();
  const std::vector<uint8_t> error =
      PacketBuilder(Ip("10.0.0.1"), Ip("10.0.0.2")).IcmpError(3, 3, quoted).Build();
  EXPECT_EQ(error.size(), 14u + 20 + 8 + quoted.size());
  EXPECT_EQ(std::vector<uint8_t>(error.begin() + 42, error.end()), quoted);
}

TEST(PacketBuilderTest, ArpIsNotIp) {
  const std::vector<uint8_t> arp = PacketBuilder::Arp();
  EXPECT_EQ(arp.size(), 42u);
  EXPECT_EQ(At16(arp, 12), 0x0806);
}

}  // namespace
}  // namespace flatwall::agent::testing
