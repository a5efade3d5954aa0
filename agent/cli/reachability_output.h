// Printing reachability results, shared by `flatwall matrix` (computed from the compiled
// tables) and `flatwall lab probe` (measured with real connections), so both speak the
// same text grid and the same JSON.
//
// Not here: computing them (policy-compiler/reachability.h, agent/lab/prober.h).
#ifndef FLATWALL_AGENT_CLI_REACHABILITY_OUTPUT_H_
#define FLATWALL_AGENT_CLI_REACHABILITY_OUTPUT_H_

#include <ostream>
#include <vector>

#include "nlohmann/json.hpp"
#include "policy-compiler/reachability.h"

namespace flatwall::cli {

// A grid with sources as rows and destinations as numbered columns ('.' allowed, 'X'
// denied), under a title naming the protocol and port. `results` must be sorted by
// (from, to) and cover every pair, as ComputeReachability returns them.
void PrintReachabilityGrid(const std::vector<compiler::ReachabilityResult>& results,
                           std::ostream& out);

// [{"from":"ns/pod","to":"ns/pod","port":N,"protocol":"TCP","allowed":bool}, ...]
nlohmann::json ReachabilityToJson(const std::vector<compiler::ReachabilityResult>& results);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_REACHABILITY_OUTPUT_H_
