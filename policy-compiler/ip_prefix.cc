#include "policy-compiler/ip_prefix.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flatwall::compiler {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(std::string_view text_view) {
  // absl::string_view is not std::string_view in this abseil build.
  std::string text(text_view);
  const std::string& s = text;
  // inet_pton stops at a NUL, so "10.0.0.1\0junk" would otherwise pass.
  if (s.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("an IP address may not contain a NUL character");
  }
  std::array<uint8_t, 16> bytes{};
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memcpy(bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
    std::memcpy(bytes.data() + 12, &v4, 4);
    return IpAddress(bytes);
  }
  in6_addr v6;
  if (s.find(':') != std::string::npos && inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(bytes.data(), &v6, 16);
    IpAddress address(bytes);
    // An IPv4-mapped IPv6 literal would be indistinguishable from IPv4 in the datapath.
    if (address.is_v4()) {
      return absl::InvalidArgumentError(
          absl::StrCat("IPv4-mapped IPv6 address \"", text, "\" is not supported"));
    }
    return address;
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address"));
}

bool IpAddress::is_v4() const {
  return std::memcmp(bytes_.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, bytes_.data() + 12, buffer, sizeof(buffer));
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  }
  return buffer;
}

absl::StatusOr<IpPrefix> IpPrefix::Parse(std::string_view text) {
  return ParseImpl(text, /*allow_host_bits=*/false);
}

absl::StatusOr<IpPrefix> IpPrefix::ParseAllowingHostBits(std::string_view text) {
  return ParseImpl(text, /*allow_host_bits=*/true);
}

absl::StatusOr<IpPrefix> IpPrefix::ParseImpl(std::string_view text_view, bool allow_host_bits) {
  std::string text(text_view);
  size_t slash = text.find('/');
  if (slash == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a CIDR (missing /prefix-length)"));
  }
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text_view.substr(0, slash));
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a valid CIDR"));
  }
  int length = 0;
  std::string length_text = text.substr(slash + 1);
  int max_length = address->is_v4() ? 32 : 128;
  if (length_text.empty() || length_text.size() > 3 ||
      length_text.find_first_not_of("0123456789") != std::string::npos ||
      !absl::SimpleAtoi(length_text, &length) || length > max_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" has an invalid prefix length (0-", max_length, " allowed)"));
  }
  IpPrefix prefix = Of(*address, length);
  if (!allow_host_bits && prefix.address_ != *address) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" has host bits set; did you mean \"",
                                                   prefix.ToString(), "\"?"));
  }
  return prefix;
}

IpPrefix IpPrefix::Of(const IpAddress& address, int length) {
  IpPrefix prefix;
  prefix.length_ = length;
  std::array<uint8_t, 16> bytes = address.bytes();
  int keep = address.is_v4() ? length + 96 : length;
  for (int bit = keep; bit < 128; ++bit) {
    bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  prefix.address_ = IpAddress(bytes);
  return prefix;
}

bool IpPrefix::Contains(const IpAddress& address) const {
  if (address.is_v4() != is_v4()) return false;
  return Of(address, length_).address_ == address_;
}

bool IpPrefix::Contains(const IpPrefix& other) const {
  return other.is_v4() == is_v4() && other.length_ >= length_ && Contains(other.address_);
}

std::string IpPrefix::ToString() const { return absl::StrCat(address_.ToString(), "/", length_); }

}  // namespace flatwall::compiler
