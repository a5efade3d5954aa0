// Names of the ABI's enums for logs, test output and `flatwall` commands: "RULE",
// "DEFAULT_DENY", "from-pod"... The names follow the enumerators (FW_REASON_RULE ->
// "RULE") so a verdict log reads like the ABI.
//
// Not here: the enums (abi/verdict.h, abi/datapath_maps.h).
#ifndef FLATWALL_AGENT_VERDICT_NAMES_H_
#define FLATWALL_AGENT_VERDICT_NAMES_H_

#include <string_view>

#include "abi/datapath_maps.h"
#include "abi/verdict.h"

namespace flatwall::agent {

// "UNKNOWN" for values outside the enums.
std::string_view ReasonName(int reason);
std::string_view VerdictName(int verdict);
std::string_view HookName(int hook);  // "from-pod", "to-pod", "uplink"
// "ingress", "egress" ("unknown" outside the enum). A C string: this abseil's StrCat takes
// no std::string_view.
const char* DirectionName(int direction);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_VERDICT_NAMES_H_
