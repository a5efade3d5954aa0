// The options `flatwall matrix` and `flatwall explain` share: which traffic to judge
// (--port, --protocol), how to print it (-o) and what judges it (--datapath).
#ifndef FLATWALL_AGENT_CLI_TRAFFIC_OPTIONS_H_
#define FLATWALL_AGENT_CLI_TRAFFIC_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "agent/cli/command_line.h"
#include "agent/cli/datapath_option.h"
#include "policy-compiler/model.h"

namespace flatwall::cli {

struct TrafficOptions {
  uint16_t port = 0;
  compiler::Protocol protocol = compiler::Protocol::kTcp;
  std::string format;  // "text" or "json"
  DatapathChoice datapath = DatapathChoice::kModel;
};

// Reads --port (required when `default_port` is nullopt), --protocol (default TCP), -o
// (default text) and --datapath (default model). InvalidArgument says which is wrong.
absl::StatusOr<TrafficOptions> ParseTrafficOptions(const CommandLine& line,
                                                   std::optional<std::string> default_port);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_TRAFFIC_OPTIONS_H_
