// IP addresses and prefixes in the form the datapath keys use: 16 bytes, IPv4 stored
// IPv4-mapped (::ffff:a.b.c.d), so an IPv4 /L is the 128-bit prefix /(96+L).
//
// Not here: CIDR classes (cidr_classes.h).
#ifndef FLATWALL_POLICY_COMPILER_IP_PREFIX_H_
#define FLATWALL_POLICY_COMPILER_IP_PREFIX_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flatwall::compiler {

class IpAddress {
 public:
  IpAddress() = default;
  explicit IpAddress(const std::array<uint8_t, 16>& bytes) : bytes_(bytes) {}

  // Parses dotted IPv4 or RFC 4291 IPv6 text. InvalidArgument on anything else.
  static absl::StatusOr<IpAddress> Parse(std::string_view text);

  bool is_v4() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // Bit i (0 = most significant) of the 128-bit form.
  bool Bit(int i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1; }
  // "10.0.0.1" or "fd00::1".
  std::string ToString() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
};

class IpPrefix {
 public:
  IpPrefix() = default;

  // Parses "a.b.c.d/L" or "x::/L". Host bits must be zero, as the API server requires for
  // ipBlock; InvalidArgument otherwise (the message says what is wrong).
  static absl::StatusOr<IpPrefix> Parse(std::string_view text);
  // Like Parse, but host bits are allowed and cleared ("10.0.0.5/8" is 10.0.0.0/8), as the
  // API server does for the legacy CIDR fields such as NetworkPolicy ipBlock.cidr/except
  // (net.ParseCIDR semantics while the StrictIPCIDRValidation feature gate is off).
  static absl::StatusOr<IpPrefix> ParseAllowingHostBits(std::string_view text);
  // The prefix of `address` with `length` bits in its own family (0..32 or 0..128);
  // host bits are cleared.
  static IpPrefix Of(const IpAddress& address, int length);

  const IpAddress& address() const { return address_; }
  bool is_v4() const { return address_.is_v4(); }
  int length() const { return length_; }         // in the family's own bits
  int length128() const { return is_v4() ? length_ + 96 : length_; }

  bool Contains(const IpAddress& address) const;
  bool Contains(const IpPrefix& other) const;  // other is equal or more specific
  std::string ToString() const;

  auto operator<=>(const IpPrefix&) const = default;

 private:
  static absl::StatusOr<IpPrefix> ParseImpl(std::string_view text, bool allow_host_bits);

  IpAddress address_;
  int length_ = 0;
};

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_IP_PREFIX_H_
