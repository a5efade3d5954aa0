#include "policy-compiler/ip_prefix.h"

#include <initializer_list>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(IpPrefixTest, ParsesIpv4AsMappedPrefix) {
  absl::StatusOr<IpPrefix> prefix = IpPrefix::Parse("10.10.0.0/16");
  FW_ASSERT_OK(prefix);
  EXPECT_TRUE(prefix->is_v4());
  EXPECT_EQ(prefix->length(), 16);
  EXPECT_EQ(prefix->length128(), 112);
  EXPECT_EQ(prefix->ToString(), "10.10.0.0/16");
}

TEST(IpPrefixTest, ParsesIpv6) {
  absl::StatusOr<IpPrefix> prefix = IpPrefix::Parse("fd00:10::/64");
  FW_ASSERT_OK(prefix);
  EXPECT_FALSE(prefix->is_v4());
  EXPECT_EQ(prefix->length128(), 64);
  EXPECT_EQ(prefix->ToString(), "fd00:10::/64");
}

TEST(IpPrefixTest, RejectsHostBitsWithSuggestion) {
  EXPECT_THAT(IpPrefix::Parse("10.10.1.5/24"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10.10.1.0/24")));
}

TEST(IpPrefixTest, RejectsBadLengthsAndText) {
  for (const char* text : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0", "10.0.0.0/-1",
                           "fd00::/129", "hello/8", "10.0.0.0/8/8", "::ffff:10.0.0.0/120"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(IpPrefix::Parse(text).ok());
  }
}

TEST(IpPrefixTest, ParseAllowingHostBitsClearsThem) {
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : std::initializer_list<Case>{{"10.10.1.5/24", "10.10.1.0/24"},
                                                   {"10.10.1.5/32", "10.10.1.5/32"},
                                                   {"192.168.7.9/0", "0.0.0.0/0"},
                                                   {"fd00::17/64", "fd00::/64"}}) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<IpPrefix> prefix = IpPrefix::ParseAllowingHostBits(c.text);
    FW_ASSERT_OK(prefix);
    EXPECT_EQ(prefix->ToString(), c.want);
  }
}

TEST(IpPrefixTest, ParseAllowingHostBitsStillRejectsBadText) {
  for (const char* text : {"10.0.0.0/33", "10.0.0.0", "hello/8", "::ffff:10.0.0.0/120"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(IpPrefix::ParseAllowingHostBits(text).ok());
  }
}

TEST(IpPrefixTest, RejectsEmbeddedNul) {
  using std::string_literals::operator""s;
  EXPECT_FALSE(IpAddress::Parse("10.0.0.1\0junk"s).ok());
  EXPECT_FALSE(IpPrefix::Parse("10.0.0.0\0junk/8"s).ok());
}

TEST(IpPrefixTest, ContainsRespectsFamilyAndLength) {
  IpPrefix vpc = *IpPrefix::Parse("10.10.0.0/16");
  EXPECT_TRUE(vpc.Contains(*IpAddress::Parse("10.10.1.7")));
  EXPECT_FALSE(vpc.Contains(*IpAddress::Parse("10.11.0.1")));
  EXPECT_TRUE(vpc.Contains(*IpPrefix::Parse("10.10.1.0/24")));
  EXPECT_FALSE(IpPrefix::Parse("10.10.1.0/24")->Contains(vpc));
  EXPECT_FALSE(IpPrefix::Parse("::/0")->Contains(*IpAddress::Parse("10.0.0.1")));
  EXPECT_TRUE(IpPrefix::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("10.0.0.1")));
}

}  // namespace
}  // namespace flatwall::compiler
