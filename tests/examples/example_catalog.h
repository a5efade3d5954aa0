// The policy examples of examples/policies/ as test data: which example directories
// exist, the expected reachability cells of each (its expected.txt), and the table and
// commands of examples/policies/README.md. Shared by the model, README and lab tests of
// the examples.
//
// Not here: judging a cell (the flatwall commands, the lab); the examples themselves.
#ifndef FLATWALL_TESTS_EXAMPLES_EXAMPLE_CATALOG_H_
#define FLATWALL_TESTS_EXAMPLES_EXAMPLE_CATALOG_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy-compiler/model.h"

namespace flatwall::examples {

// The file of an example directory that holds its expected reachability.
inline constexpr char kExpectedFile[] = "expected.txt";

// One cell of an expected.txt: a flow and whether the policies allow it. `from` and `to`
// are "namespace/pod" or the IP address of a host outside the cluster.
struct ExpectedCell {
  std::string from;
  std::string to;
  uint16_t port = 0;
  compiler::Protocol protocol = compiler::Protocol::kTcp;
  bool allowed = false;

  // "from -> to TCP/80 (allowed)", for failure messages.
  std::string ToString() const;
};

// True when `end` names a pod ("namespace/pod") rather than an IP address.
bool IsPod(const std::string& end);

// examples/policies in the source tree.
std::filesystem::path ExamplesDir();

// The example directories' names ("05-three-tiers"), sorted.
std::vector<std::string> ExampleNames();

// `example` as a gtest parameter name: "05-three-tiers" -> "05_three_tiers".
std::string TestNameOf(const std::string& example);

// The cells of an expected.txt. NotFound when the file is missing; InvalidArgument, with
// the file and the cell's index, when it is not YAML of the form `cells: [{from, to, port,
// protocol, allowed}, ...]` with TCP/UDP/SCTP protocols and ports 1-65535.
absl::StatusOr<std::vector<ExpectedCell>> ReadExpectedCells(const std::filesystem::path& file);

// One row of the README's example table.
struct ReadmeRow {
  std::string directory;  // "05-three-tiers"
  int cells = 0;          // the number of cells the README promises
  std::string command;    // the "check it" command, e.g. "flatwall matrix --port 8080 ..."
};

// The rows of the table whose header starts with "| directory |". InvalidArgument names a
// row that does not have the four cells, a count that is not a number, or an entry that is
// not in backquotes.
absl::StatusOr<std::vector<ReadmeRow>> ReadmeTable(const std::string& readme);

// Every command the README shows: each line of a ```sh block, then each row's command.
std::vector<std::string> ReadmeCommands(const std::string& readme);

}  // namespace flatwall::examples

#endif  // FLATWALL_TESTS_EXAMPLES_EXAMPLE_CATALOG_H_
