#include "policy-compiler/port_ranges.h"

namespace flatwall::compiler {

std::vector<PortPrefix> PortRangePrefixes(uint16_t first, uint16_t last) {
  std::vector<PortPrefix> prefixes;
  // 32-bit arithmetic: the range may end at 65535, and `start` then steps to 65536.
  uint32_t start = first;
  const uint32_t end = static_cast<uint32_t>(last) + 1;
  while (start < end) {
    // Greedy: the largest aligned block starting at `start` that does not pass `end` is
    // part of every minimal cover, so taking it never costs an extra prefix.
    int host_bits = 0;
    while (host_bits < 16 && (start & ((2u << host_bits) - 1)) == 0 &&
           start + (2u << host_bits) <= end) {
      ++host_bits;
    }
    prefixes.push_back({static_cast<uint16_t>(start), static_cast<uint8_t>(16 - host_bits)});
    start += 1u << host_bits;
  }
  return prefixes;
}

}  // namespace flatwall::compiler
