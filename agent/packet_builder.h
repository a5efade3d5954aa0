// Crafted packets for BPF_PROG_TEST_RUN: an Ethernet frame carrying IPv4 (with options)
// or IPv6 (with extension headers), optionally a fragment, a transport header (TCP, UDP,
// SCTP, ICMP/ICMPv6 or raw bytes) and payload. Used by the flow prober and the tests.
// Checksums are filled in for IPv4 headers, TCP, UDP, ICMP and ICMPv6; SCTP's CRC32c is
// left 0 (the datapath does not verify checksums).
//
// Not here: running packets (packet_runner.h).
#ifndef FLATWALL_AGENT_PACKET_BUILDER_H_
#define FLATWALL_AGENT_PACKET_BUILDER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "policy-compiler/ip_prefix.h"

namespace flatwall::agent {

class PacketBuilder {
 public:
  static constexpr uint8_t kFin = 0x01;
  static constexpr uint8_t kSyn = 0x02;
  static constexpr uint8_t kRst = 0x04;
  static constexpr uint8_t kPsh = 0x08;
  static constexpr uint8_t kAck = 0x10;

  // IPv4 if `source` is IPv4 (IPv4-mapped), else IPv6; `destination` should match.
  PacketBuilder(const compiler::IpAddress& source, const compiler::IpAddress& destination);

  // Transport headers; the last call wins. Ports in host order.
  PacketBuilder& Tcp(uint16_t source_port, uint16_t destination_port, uint8_t flags = kSyn);
  PacketBuilder& Udp(uint16_t source_port, uint16_t destination_port);
  // SCTP common header and an INIT chunk.
  PacketBuilder& Sctp(uint16_t source_port, uint16_t destination_port);
  // ICMP (IPv4) or ICMPv6 echo request/reply.
  PacketBuilder& IcmpEcho(uint16_t identifier, bool reply = false);
  // ICMP or ICMPv6 (by family) message: type, code, checksum, then `rest`.
  PacketBuilder& Icmp(uint8_t type, uint8_t code, const std::vector<uint8_t>& rest = {});
  // An ICMP/ICMPv6 error quoting `datagram` (e.g. another builder's BuildDatagram()).
  PacketBuilder& IcmpError(uint8_t type, uint8_t code, const std::vector<uint8_t>& datagram);
  // Any protocol number with these header bytes.
  PacketBuilder& Transport(uint8_t protocol, const std::vector<uint8_t>& header);
  // `length` payload bytes (0, 1, 2, ...) after the transport header.
  PacketBuilder& Payload(size_t length);
  PacketBuilder& Payload(const std::vector<uint8_t>& bytes);

  // IPv4 options (padded with end-of-options to a multiple of 4 bytes, at most 40).
  PacketBuilder& Ipv4Options(const std::vector<uint8_t>& options);
  // An IPv6 extension header of `type` (hop-by-hop 0, routing 43, destination options
  // 60, AH 51, ...) and `length` bytes (a multiple of 8; of 4 for AH), in call order.
  PacketBuilder& Ipv6ExtensionHeader(uint8_t type, size_t length = 8);
  // Makes the datagram a fragment (IPv4 flags/offset, or an IPv6 fragment header after
  // the extension headers). `offset` in bytes, a multiple of 8. When offset > 0 the
  // transport header is left out: the fragment carries payload bytes only.
  PacketBuilder& Fragment(uint32_t id, uint16_t offset, bool more_fragments);

  std::vector<uint8_t> Build() const;          // the Ethernet frame
  std::vector<uint8_t> BuildDatagram() const;  // the IP datagram alone
  static std::vector<uint8_t> Arp();           // an ARP request frame

 private:
  struct FragmentSpec {
    uint32_t id = 0;
    uint16_t offset = 0;
    bool more = false;
  };
  struct ExtensionHeader {
    uint8_t type = 0;
    size_t length = 0;
  };

  std::vector<uint8_t> TransportSegment() const;
  std::vector<uint8_t> Ipv4Datagram(const std::vector<uint8_t>& segment) const;
  std::vector<uint8_t> Ipv6Datagram(const std::vector<uint8_t>& segment) const;

  bool v4_;
  std::array<uint8_t, 16> source_;
  std::array<uint8_t, 16> destination_;
  uint8_t protocol_ = 59;  // IPv6 "no next header" until a transport is chosen
  std::vector<uint8_t> transport_;
  std::vector<uint8_t> payload_;
  std::vector<uint8_t> ipv4_options_;
  std::vector<ExtensionHeader> extension_headers_;
  std::optional<FragmentSpec> fragment_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_PACKET_BUILDER_H_
