#include "agent/packet_builder.h"

#include <algorithm>

namespace flatwall::agent {
namespace {

constexpr uint8_t kProtocolIcmp = 1;
constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint8_t kProtocolFragment = 44;
constexpr uint8_t kProtocolAh = 51;
constexpr uint8_t kProtocolIcmpv6 = 58;
constexpr uint8_t kProtocolSctp = 132;

void Put16(std::vector<uint8_t>& bytes, size_t offset, uint16_t value) {
  bytes[offset] = value >> 8;
  bytes[offset + 1] = value & 0xff;
}

void Append16(std::vector<uint8_t>& bytes, uint16_t value) {
  bytes.push_back(value >> 8);
  bytes.push_back(value & 0xff);
}

void Append32(std::vector<uint8_t>& bytes, uint32_t value) {
  Append16(bytes, value >> 16);
  Append16(bytes, value & 0xffff);
}

// RFC 1071 one's-complement sum, folded; `sum` carries a pseudo-header's partial sum.
uint16_t Checksum(const std::vector<uint8_t>& bytes, uint32_t sum = 0) {
  for (size_t i = 0; i < bytes.size(); i += 2) {
    sum += (bytes[i] << 8) | (i + 1 < bytes.size() ? bytes[i + 1] : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t AddressSum(const uint8_t* address, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i < length; i += 2) sum += (address[i] << 8) | address[i + 1];
  return sum;
}

}  // namespace

PacketBuilder::PacketBuilder(const compiler::IpAddress& source,
                             const compiler::IpAddress& destination)
    : v4_(source.is_v4()), source_(source.bytes()), destination_(destination.bytes()) {}

PacketBuilder& PacketBuilder::Tcp(uint16_t source_port, uint16_t destination_port,
                                  uint8_t flags) {
  protocol_ = kProtocolTcp;
  transport_.clear();
  Append16(transport_, source_port);
  Append16(transport_, destination_port);
  Append32(transport_, 1);                  // sequence number
  Append32(transport_, flags & kAck ? 1 : 0);  // acknowledgment number
  transport_.push_back(5 << 4);             // data offset: 20 bytes, no options
  transport_.push_back(flags);
  Append16(transport_, 65535);              // window
  Append16(transport_, 0);                  // checksum (filled in at build)
  Append16(transport_, 0);                  // urgent pointer
  return *this;
}

PacketBuilder& PacketBuilder::Udp(uint16_t source_port, uint16_t destination_port) {
  protocol_ = kProtocolUdp;
  transport_.clear();
  Append16(transport_, source_port);
  Append16(transport_, destination_port);
  Append16(transport_, 0);  // length (filled in at build)
  Append16(transport_, 0);  // checksum
  return *this;
}

PacketBuilder& PacketBuilder::Sctp(uint16_t source_port, uint16_t destination_port) {
  protocol_ = kProtocolSctp;
  transport_.clear();
  Append16(transport_, source_port);
  Append16(transport_, destination_port);
  Append32(transport_, 0);  // verification tag: 0 in an INIT
  Append32(transport_, 0);  // CRC32c, not computed
  transport_.push_back(1);  // chunk type INIT
  transport_.push_back(0);  // flags
  Append16(transport_, 20);  // chunk length
  Append32(transport_, 0x12345678);  // initiate tag
  Append32(transport_, 65536);       // advertised receiver window
  Append16(transport_, 1);           // outbound streams
  Append16(transport_, 1);           // inbound streams
  Append32(transport_, 1);           // initial TSN
  return *this;
}

PacketBuilder& PacketBuilder::Icmp(uint8_t type, uint8_t code, const std::vector<uint8_t>& rest) {
  protocol_ = v4_ ? kProtocolIcmp : kProtocolIcmpv6;
  transport_ = {type, code, 0, 0};
  transport_.insert(transport_.end(), rest.begin(), rest.end());
  return *this;
}

PacketBuilder& PacketBuilder::IcmpEcho(uint16_t identifier, bool reply) {
  const uint8_t type = v4_ ? (reply ? 0 : 8) : (reply ? 129 : 128);
  std::vector<uint8_t> rest;
  Append16(rest, identifier);
  Append16(rest, 1);  // sequence number
  return Icmp(type, 0, rest);
}

PacketBuilder& PacketBuilder::IcmpError(uint8_t type, uint8_t code,
                                        const std::vector<uint8_t>& datagram) {
  std::vector<uint8_t> rest(4, 0);  // unused / MTU / pointer
  rest.insert(rest.end(), datagram.begin(), datagram.end());
  return Icmp(type, code, rest);
}

PacketBuilder& PacketBuilder::Transport(uint8_t protocol, const std::vector<uint8_t>& header) {
  protocol_ = protocol;
  transport_ = header;
  return *this;
}

PacketBuilder& PacketBuilder::Payload(size_t length) {
  payload_.resize(length);
  for (size_t i = 0; i < length; ++i) payload_[i] = static_cast<uint8_t>(i);
  return *this;
}

PacketBuilder& PacketBuilder::Payload(const std::vector<uint8_t>& bytes) {
  payload_ = bytes;
  return *this;
}

PacketBuilder& PacketBuilder::Ipv4Options(const std::vector<uint8_t>& options) {
  ipv4_options_ = options;
  ipv4_options_.resize((options.size() + 3) / 4 * 4, 0);  // 0: end of options list
  return *this;
}

PacketBuilder& PacketBuilder::Ipv6ExtensionHeader(uint8_t type, size_t length) {
  extension_headers_.push_back({type, length});
  return *this;
}

PacketBuilder& PacketBuilder::Fragment(uint32_t id, uint16_t offset, bool more_fragments) {
  fragment_ = FragmentSpec{id, offset, more_fragments};
  return *this;
}

std::vector<uint8_t> PacketBuilder::TransportSegment() const {
  if (fragment_.has_value() && fragment_->offset > 0) return payload_;
  std::vector<uint8_t> segment = transport_;
  segment.insert(segment.end(), payload_.begin(), payload_.end());
  const uint16_t length = static_cast<uint16_t>(segment.size());

  size_t checksum_offset = 0;
  bool pseudo_header = true;
  switch (protocol_) {
    case kProtocolTcp: checksum_offset = 16; break;
    case kProtocolUdp:
      checksum_offset = 6;
      if (segment.size() >= 6) Put16(segment, 4, length);
      break;
    case kProtocolIcmp:
      checksum_offset = 2;
      pseudo_header = false;
      break;
    case kProtocolIcmpv6: checksum_offset = 2; break;
    default: return segment;
  }
  if (segment.size() < checksum_offset + 2) return segment;
  uint32_t sum = 0;
  if (pseudo_header) {
    const size_t skip = v4_ ? 12 : 0;  // IPv4: the last 4 bytes of the mapped form
    sum = AddressSum(source_.data() + skip, 16 - skip) +
          AddressSum(destination_.data() + skip, 16 - skip) + protocol_ + length;
  }
  uint16_t checksum = Checksum(segment, sum);
  if (protocol_ == kProtocolUdp && checksum == 0) checksum = 0xffff;
  Put16(segment, checksum_offset, checksum);
  return segment;
}

std::vector<uint8_t> PacketBuilder::Ipv4Datagram(const std::vector<uint8_t>& segment) const {
  const size_t header_length = 20 + std::min<size_t>(ipv4_options_.size(), 40);
  std::vector<uint8_t> datagram;
  datagram.push_back(0x40 | static_cast<uint8_t>(header_length / 4));
  datagram.push_back(0);  // DSCP/ECN
  Append16(datagram, static_cast<uint16_t>(header_length + segment.size()));
  uint16_t flags_offset = 0;
  uint16_t id = 0;
  if (fragment_.has_value()) {
    id = static_cast<uint16_t>(fragment_->id);
    flags_offset = (fragment_->offset / 8) | (fragment_->more ? 0x2000 : 0);
  }
  Append16(datagram, id);
  Append16(datagram, flags_offset);
  datagram.push_back(64);  // TTL
  datagram.push_back(protocol_);
  Append16(datagram, 0);  // header checksum
  datagram.insert(datagram.end(), source_.begin() + 12, source_.end());
  datagram.insert(datagram.end(), destination_.begin() + 12, destination_.end());
  datagram.insert(datagram.end(), ipv4_options_.begin(),
                  ipv4_options_.begin() + (header_length - 20));
  Put16(datagram, 10, Checksum(datagram));
  datagram.insert(datagram.end(), segment.begin(), segment.end());
  return datagram;
}

std::vector<uint8_t> PacketBuilder::Ipv6Datagram(const std::vector<uint8_t>& segment) const {
  // The chain: extension headers in call order, then the fragment header, then L4.
  std::vector<uint8_t> types;
  for (const ExtensionHeader& header : extension_headers_) types.push_back(header.type);
  if (fragment_.has_value()) types.push_back(kProtocolFragment);
  types.push_back(protocol_);

  std::vector<uint8_t> chain;
  for (size_t i = 0; i < extension_headers_.size(); ++i) {
    const ExtensionHeader& header = extension_headers_[i];
    const size_t start = chain.size();
    chain.resize(start + header.length, 0);
    chain[start] = types[i + 1];
    chain[start + 1] = static_cast<uint8_t>(
        header.type == kProtocolAh ? header.length / 4 - 2 : header.length / 8 - 1);
    const bool options = header.type == 0 || header.type == 60;  // hop-by-hop, dest opts
    if (options && header.length > 2) {
      chain[start + 2] = 1;  // a PadN option covering the rest of the header
      chain[start + 3] = static_cast<uint8_t>(header.length - 4);
    }
  }
  if (fragment_.has_value()) {
    chain.push_back(protocol_);
    chain.push_back(0);
    Append16(chain, (fragment_->offset & 0xfff8) | (fragment_->more ? 1 : 0));
    Append32(chain, fragment_->id);
  }

  std::vector<uint8_t> datagram = {0x60, 0, 0, 0};
  Append16(datagram, static_cast<uint16_t>(chain.size() + segment.size()));
  datagram.push_back(types.front());
  datagram.push_back(64);  // hop limit
  datagram.insert(datagram.end(), source_.begin(), source_.end());
  datagram.insert(datagram.end(), destination_.begin(), destination_.end());
  datagram.insert(datagram.end(), chain.begin(), chain.end());
  datagram.insert(datagram.end(), segment.begin(), segment.end());
  return datagram;
}

std::vector<uint8_t> PacketBuilder::BuildDatagram() const {
  const std::vector<uint8_t> segment = TransportSegment();
  return v4_ ? Ipv4Datagram(segment) : Ipv6Datagram(segment);
}

std::vector<uint8_t> PacketBuilder::Build() const {
  std::vector<uint8_t> frame = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  Append16(frame, v4_ ? 0x0800 : 0x86dd);
  const std::vector<uint8_t> datagram = BuildDatagram();
  frame.insert(frame.end(), datagram.begin(), datagram.end());
  return frame;
}

std::vector<uint8_t> PacketBuilder::Arp() {
  std::vector<uint8_t> frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01};
  Append16(frame, 0x0806);
  Append16(frame, 1);       // hardware type: Ethernet
  Append16(frame, 0x0800);  // protocol type: IPv4
  frame.push_back(6);
  frame.push_back(4);
  Append16(frame, 1);       // request
  frame.insert(frame.end(), {0x02, 0, 0, 0, 0, 0x01, 10, 0, 0, 1});
  frame.insert(frame.end(), {0, 0, 0, 0, 0, 0, 10, 0, 0, 2});
  return frame;
}

}  // namespace flatwall::agent
