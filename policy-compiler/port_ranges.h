// Port ranges as prefixes: a NetworkPolicy port range [port, endPort] becomes the minimal
// set of (port, prefix bits) blocks that covers it exactly, because fw_rules is an LPM trie
// and can only match a port by its leading bits.
//
// Not here: where the prefixes go in a rule key (internal/ruleset_builder.h).
#ifndef FLATWALL_POLICY_COMPILER_PORT_RANGES_H_
#define FLATWALL_POLICY_COMPILER_PORT_RANGES_H_

#include <cstdint>
#include <vector>

namespace flatwall::compiler {

// The ports whose `bits` most significant bits equal those of `port` (host order): `bits`
// 16 is the single port, 0 every port. `port`'s remaining bits are zero.
struct PortPrefix {
  uint16_t port = 0;
  uint8_t bits = 16;

  friend bool operator==(const PortPrefix&, const PortPrefix&) = default;
};

// The fewest prefixes whose union is exactly [first, last], in ascending port order.
// Requires first <= last (the API server guarantees endPort >= port); returns an empty list
// otherwise. At most 30 prefixes (the worst case, e.g. [1, 65534]).
std::vector<PortPrefix> PortRangePrefixes(uint16_t first, uint16_t last);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_PORT_RANGES_H_
