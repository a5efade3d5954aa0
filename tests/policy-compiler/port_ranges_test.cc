#include "policy-compiler/port_ranges.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace flatwall::compiler {
namespace {

bool Covers(const std::vector<PortPrefix>& prefixes, uint32_t port) {
  for (const PortPrefix& prefix : prefixes) {
    uint32_t mask = prefix.bits == 0 ? 0 : (0xffffu << (16 - prefix.bits)) & 0xffffu;
    if ((port & mask) == prefix.port) return true;
  }
  return false;
}

struct RangeCase {
  uint16_t first;
  uint16_t last;
  size_t expected_prefixes;
};

TEST(PortRangesTest, CoversExactlyTheRangeWithTheFewestPrefixes) {
  const std::vector<RangeCase> cases = {
      {80, 80, 1},         {80, 81, 1},        {79, 80, 2},     {1, 65535, 16},
      {0, 65535, 1},       {32768, 60999, 7},  {1024, 2047, 1}, {1, 65534, 30},
      {65535, 65535, 1},   {8080, 8089, 2},    {0, 0, 1},       {30000, 32767, 5},
  };
  for (const RangeCase& test : cases) {
    SCOPED_TRACE(std::to_string(test.first) + "-" + std::to_string(test.last));
    std::vector<PortPrefix> prefixes = PortRangePrefixes(test.first, test.last);
    EXPECT_EQ(prefixes.size(), test.expected_prefixes);
    // Every boundary and a sweep: inside iff in [first, last].
    for (uint32_t port = 0; port <= 65535; ++port) {
      bool inside = port >= test.first && port <= test.last;
      if (Covers(prefixes, port) != inside) {
        ADD_FAILURE() << "port " << port << (inside ? " not covered" : " wrongly covered");
        break;
      }
    }
    for (const PortPrefix& prefix : prefixes) {
      uint32_t host_mask = prefix.bits == 0 ? 0xffffu : (1u << (16 - prefix.bits)) - 1;
      EXPECT_EQ(prefix.port & host_mask, 0u) << "host bits set in " << prefix.port;
    }
  }
}

TEST(PortRangesTest, SinglePortIsAFullLengthPrefix) {
  EXPECT_EQ(PortRangePrefixes(443, 443), (std::vector<PortPrefix>{{443, 16}}));
}

TEST(PortRangesTest, AlignedBlockIsOnePrefix) {
  EXPECT_EQ(PortRangePrefixes(32768, 65535), (std::vector<PortPrefix>{{32768, 1}}));
}

TEST(PortRangesTest, InvertedRangeIsEmpty) { EXPECT_TRUE(PortRangePrefixes(81, 80).empty()); }

}  // namespace
}  // namespace flatwall::compiler
