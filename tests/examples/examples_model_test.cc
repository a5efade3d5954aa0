// Every example of examples/policies/ through the `flatwall` commands, called in-process
// with real arguments as the CLI tests do: the directory validates, and every cell of its
// expected.txt gets the expected verdict from `flatwall explain` and, for pod-to-pod
// cells, from `flatwall matrix` too. One test per example.
#include <map>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "agent/cli/commands.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/examples/example_catalog.h"

namespace flatwall::examples {
namespace {

using cli::RunExplain;
using cli::RunMatrix;
using cli::RunValidate;

struct Output {
  int exit_code;
  std::string out;
  std::string err;
};

template <typename Command>
Output RunCommand(Command command, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = command(args, out, err);
  return {code, out.str(), err.str()};
}

class ExamplesModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Dir() const { return (ExamplesDir() / GetParam()).string(); }

  // `flatwall matrix -o json` of the example on (port, protocol): from -> to -> allowed.
  const std::map<std::pair<std::string, std::string>, bool>& Matrix(
      uint16_t port, compiler::Protocol protocol) {
    auto key = std::make_tuple(port, protocol);
    auto cached = matrices_.find(key);
    if (cached != matrices_.end()) return cached->second;
    std::map<std::pair<std::string, std::string>, bool>& cells = matrices_[key];
    Output result = RunCommand(RunMatrix, {"--port", absl::StrCat(port), "--protocol",
                                           std::string(compiler::ProtocolName(protocol)), "-o",
                                           "json", Dir()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    nlohmann::json parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_TRUE(parsed.is_array()) << result.out;
    if (!parsed.is_array()) return cells;
    for (const auto& cell : parsed) {
      cells[{cell.value("from", ""), cell.value("to", "")}] = cell.value("allowed", false);
    }
    return cells;
  }

  std::map<std::tuple<uint16_t, compiler::Protocol>,
           std::map<std::pair<std::string, std::string>, bool>>
      matrices_;
};

TEST_P(ExamplesModelTest, ValidatesAndEveryExpectedCellMatchesExplainAndMatrix) {
  Output validated = RunCommand(RunValidate, {Dir()});
  EXPECT_EQ(validated.exit_code, 0) << validated.out << validated.err;

  absl::StatusOr<std::vector<ExpectedCell>> cells =
      ReadExpectedCells(ExamplesDir() / GetParam() / kExpectedFile);
  ASSERT_TRUE(cells.ok()) << cells.status();
  ASSERT_FALSE(cells->empty());
  for (const ExpectedCell& cell : *cells) {
    SCOPED_TRACE(cell.ToString());
    Output explained = RunCommand(
        RunExplain, {"--from", cell.from, "--to", cell.to, "--port", absl::StrCat(cell.port),
                     "--protocol", std::string(compiler::ProtocolName(cell.protocol)), "-o",
                     "json", Dir()});
    // explain exits 0 for an allowed flow and 1 for a denied one.
    EXPECT_EQ(explained.exit_code, cell.allowed ? 0 : 1) << explained.out << explained.err;
    nlohmann::json answer = nlohmann::json::parse(explained.out, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << explained.out;
    EXPECT_EQ(answer.value("allowed", !cell.allowed), cell.allowed) << explained.out;
    if (IsPod(cell.from) && IsPod(cell.to)) {
      const auto& matrix = Matrix(cell.port, cell.protocol);
      auto found = matrix.find({cell.from, cell.to});
      ASSERT_NE(found, matrix.end()) << "flatwall matrix has no such cell";
      EXPECT_EQ(found->second, cell.allowed) << "flatwall matrix";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ExamplesModelTest, ::testing::ValuesIn(ExampleNames()),
                         [](const auto& info) { return TestNameOf(info.param); });

}  // namespace
}  // namespace flatwall::examples
