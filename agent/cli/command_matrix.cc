#include <map>

#include "absl/strings/str_format.h"
#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/manifest_files.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/compiler.h"
#include "policy-compiler/reachability.h"

namespace flatwall::cli {
namespace {

using compiler::ReachabilityResult;

// Rows are sources, columns destinations, numbered so the grid stays narrow.
void PrintGrid(const std::vector<ReachabilityResult>& results, std::ostream& out) {
  std::map<std::string, int> index;
  for (const ReachabilityResult& result : results) index.emplace(result.from, 0);
  int next = 1;
  size_t width = 0;
  for (auto& [name, number] : index) {
    number = next++;
    width = std::max(width, name.size());
  }
  if (!results.empty()) {
    out << "reachability on " << compiler::ProtocolName(results[0].protocol) << "/"
        << results[0].port << " (rows: from, columns: to; '.' allowed, 'X' denied)\n";
  }
  out << absl::StrFormat("%*s", static_cast<int>(width) + 4, "");
  for (const auto& [name, number] : index) out << absl::StrFormat(" %2d", number);
  out << "\n";
  std::string current;
  for (const ReachabilityResult& result : results) {
    if (result.from != current) {
      if (!current.empty()) out << "\n";
      current = result.from;
      out << absl::StrFormat("%2d %-*s ", index[current], static_cast<int>(width), current);
    }
    out << "  " << (result.allowed ? '.' : 'X');
  }
  if (!current.empty()) out << "\n";
}

nlohmann::json ToJson(const std::vector<ReachabilityResult>& results) {
  nlohmann::json cells = nlohmann::json::array();
  for (const ReachabilityResult& result : results) {
    cells.push_back({{"from", result.from},
                     {"to", result.to},
                     {"port", result.port},
                     {"protocol", std::string(compiler::ProtocolName(result.protocol))},
                     {"allowed", result.allowed}});
  }
  return cells;
}

}  // namespace

int RunMatrix(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line =
      CommandLine::Parse(args, {.with_value = {"port", "protocol", "o"}});
  auto usage = [&err](const std::string& problem) {
    err << "flatwall matrix: " << problem
        << "\nusage: flatwall matrix [--port N] [--protocol TCP|UDP|SCTP] [-o text|json] "
           "FILE...\n";
    return 2;
  };
  if (!line.ok()) return usage(std::string(line.status().message()));
  if (line->positional().empty()) return usage("no FILE given");
  absl::StatusOr<uint16_t> port = ParsePortOption("port", line->ValueOr("port", "80"));
  if (!port.ok()) return usage(std::string(port.status().message()));
  std::optional<compiler::Protocol> protocol =
      compiler::ParseProtocolName(line->ValueOr("protocol", "TCP"));
  if (!protocol) return usage("--protocol must be TCP, UDP or SCTP");
  std::string format = line->ValueOr("o", "text");
  if (format != "text" && format != "json") return usage("-o must be text or json");

  std::optional<LoadedManifests> loaded =
      LoadManifestsForCommand(line->positional(), "matrix", err);
  if (!loaded) return 1;
  compiler::MapImage image = compiler::Compile(loaded->state, {.all_nodes = true});
  std::vector<ReachabilityResult> results = compiler::ComputeReachability(
      loaded->state, *port, *protocol, compiler::JudgeWithImage(image));
  if (format == "json") {
    out << ToJson(results).dump(2) << "\n";
  } else {
    PrintGrid(results, out);
  }
  return 0;
}

}  // namespace flatwall::cli
