#include "agent/cli/reachability_output.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/str_format.h"

namespace flatwall::cli {

using compiler::ReachabilityResult;

// Rows are sources, columns destinations, numbered so the grid stays narrow.
void PrintReachabilityGrid(const std::vector<ReachabilityResult>& results, std::ostream& out) {
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

nlohmann::json ReachabilityToJson(const std::vector<ReachabilityResult>& results) {
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

}  // namespace flatwall::cli
