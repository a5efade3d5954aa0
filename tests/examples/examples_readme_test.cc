// examples/policies/README.md and the example directories cannot drift apart: the table
// lists exactly the directories; each has an expected.txt with the number of cells the
// table gives, allowed and denied ones, about pods that exist and ports they serve; and
// every command the README shows runs (in-process, with the arguments as written).
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/cli/commands.h"
#include "agent/cli/manifest_files.h"
#include "gtest/gtest.h"
#include "policy-compiler/ip_prefix.h"
#include "tests/examples/example_catalog.h"

namespace flatwall::examples {
namespace {

// The required topics of issue 7, and a few more.
constexpr size_t kMinimumExamples = 16;

std::string Readme() {
  std::ifstream in(ExamplesDir() / "README.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<ReadmeRow> Rows() {
  absl::StatusOr<std::vector<ReadmeRow>> rows = ReadmeTable(Readme());
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<ReadmeRow>{};
}

TEST(ExamplesReadmeTest, TableListsExactlyTheExampleDirectoriesInOrder) {
  std::vector<std::string> listed;
  for (const ReadmeRow& row : Rows()) listed.push_back(row.directory);
  EXPECT_EQ(listed, ExampleNames());
  EXPECT_GE(listed.size(), kMinimumExamples);
}

TEST(ExamplesReadmeTest, EveryExampleHasTheCellsTheTableClaimsBothAllowedAndDenied) {
  for (const ReadmeRow& row : Rows()) {
    SCOPED_TRACE(row.directory);
    absl::StatusOr<std::vector<ExpectedCell>> cells =
        ReadExpectedCells(ExamplesDir() / row.directory / kExpectedFile);
    ASSERT_TRUE(cells.ok()) << cells.status();
    EXPECT_EQ(static_cast<int>(cells->size()), row.cells);
    EXPECT_TRUE(std::any_of(cells->begin(), cells->end(), [](auto& c) { return c.allowed; }))
        << "no allowed cell";
    EXPECT_TRUE(std::any_of(cells->begin(), cells->end(), [](auto& c) { return !c.allowed; }))
        << "no denied cell";
  }
}

// A cell's destination pod serves its port, so that in the lab a denied cell is denied by
// policy and not because nothing listens; outside hosts are addresses, not typos.
TEST(ExamplesReadmeTest, CellsNamePodsOfTheClusterAndPortsTheyServe) {
  for (const std::string& name : ExampleNames()) {
    SCOPED_TRACE(name);
    absl::StatusOr<cli::LoadedManifests> loaded =
        cli::LoadManifests({(ExamplesDir() / name).string()});
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::vector<ExpectedCell>> cells =
        ReadExpectedCells(ExamplesDir() / name / kExpectedFile);
    ASSERT_TRUE(cells.ok()) << cells.status();
    std::set<std::string> seen;
    for (const ExpectedCell& cell : *cells) {
      SCOPED_TRACE(cell.ToString());
      EXPECT_TRUE(seen.insert(cell.ToString()).second) << "listed twice";
      for (const std::string& end : {cell.from, cell.to}) {
        if (IsPod(end)) {
          EXPECT_NE(loaded->state.FindPod(end), nullptr) << "no pod " << end;
        } else {
          EXPECT_TRUE(compiler::IpAddress::Parse(end).ok()) << end << " is not an address";
        }
      }
      const compiler::Pod* to = IsPod(cell.to) ? loaded->state.FindPod(cell.to) : nullptr;
      if (to == nullptr) continue;
      EXPECT_TRUE(std::any_of(to->ports.begin(), to->ports.end(), [&](const auto& port) {
        return port.port == cell.port && port.protocol == cell.protocol;
      })) << cell.to << " does not serve the port";
    }
  }
}

// Runs `command` ("flatwall matrix ... examples/policies/x") in-process, paths taken from
// the source tree as the README's reader would from a checkout.
TEST(ExamplesReadmeTest, EveryCommandShownRunsAndAnswers) {
  std::vector<std::string> commands = ReadmeCommands(Readme());
  ASSERT_GE(commands.size(), kMinimumExamples);
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    std::vector<std::string> words = absl::StrSplit(command, ' ', absl::SkipEmpty());
    ASSERT_GE(words.size(), 3u);
    ASSERT_EQ(words[0], "flatwall");
    std::vector<std::string> args;
    for (size_t i = 2; i < words.size(); ++i) {
      args.push_back(absl::StartsWith(words[i], "examples/")
                         ? absl::StrCat(FLATWALL_SOURCE_DIR, "/", words[i])
                         : words[i]);
    }
    std::ostringstream out, err;
    int exit_code = 2;
    if (words[1] == "matrix") {
      exit_code = cli::RunMatrix(args, out, err);
      EXPECT_EQ(exit_code, 0);
      EXPECT_TRUE(absl::StrContains(out.str(), "reachability on")) << out.str();
    } else if (words[1] == "explain") {
      // 0 allowed, 1 denied: either is an answer.
      exit_code = cli::RunExplain(args, out, err);
      EXPECT_TRUE(exit_code == 0 || exit_code == 1) << exit_code;
      EXPECT_TRUE(absl::StrContains(out.str(), exit_code == 0 ? "ALLOWED" : "DENIED"))
          << out.str();
    } else if (words[1] == "validate") {
      exit_code = cli::RunValidate(args, out, err);
      EXPECT_EQ(exit_code, 0);
    } else {
      ADD_FAILURE() << "the README shows a command this test does not run";
    }
    EXPECT_EQ(err.str(), "");
  }
}

}  // namespace
}  // namespace flatwall::examples
