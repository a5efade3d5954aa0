// docs/operations.md cannot drift from what it describes: every `flatwall explain` it shows
// runs (in-process, arguments as written, on a `kubectl get -o yaml` output of the shape
// it exports) and prints exactly the output block after it; the `kubectl get` it tells
// operators to run names exactly the resources the ClusterRole grants; the kubectl
// commands name manifests and DaemonSets that exist; the uninstall command is the one
// deploy/uninstall.yaml runs; the image reference build-image.sh is said to print carries
// the VERSION file's tag. (No API server here, so kubectl itself is not run.)
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/cli/commands.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace flatwall::deploy {
namespace {

struct CodeBlock {
  std::string language;  // after the opening fence; empty for output
  std::string body;      // the lines between the fences, each ending in '\n'
};

std::string ReadSource(const std::string& relative) {
  std::ifstream in(absl::StrCat(FLATWALL_SOURCE_DIR, "/", relative));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<CodeBlock> CodeBlocks(const std::string& markdown) {
  std::vector<CodeBlock> blocks;
  bool inside = false;
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    if (absl::StartsWith(line, "```")) {
      if (!inside) blocks.push_back({std::string(line.substr(3)), ""});
      inside = !inside;
    } else if (inside) {
      absl::StrAppend(&blocks.back().body, line, "\n");
    }
  }
  EXPECT_FALSE(inside) << "an unclosed code block";
  return blocks;
}

// Every line of the doc's shell blocks, without comments and surrounding blanks.
std::vector<std::string> ShellLines() {
  std::vector<std::string> lines;
  for (const CodeBlock& block : CodeBlocks(ReadSource("docs/operations.md"))) {
    if (block.language != "sh") continue;
    for (absl::string_view line : absl::StrSplit(block.body, '\n', absl::SkipEmpty())) {
      lines.emplace_back(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    }
  }
  return lines;
}

std::vector<std::string> Words(const std::string& line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

std::vector<YAML::Node> DeployObjects() {
  std::vector<YAML::Node> objects;
  for (const char* file : {"deploy/flatwall.yaml", "deploy/uninstall.yaml"}) {
    for (const YAML::Node& document :
         YAML::LoadAllFromFile(absl::StrCat(FLATWALL_SOURCE_DIR, "/", file))) {
      objects.push_back(document);
    }
  }
  return objects;
}

TEST(OperationsDocTest, EveryExplainShownPrintsTheOutputShownAfterIt) {
  const std::vector<CodeBlock> blocks = CodeBlocks(ReadSource("docs/operations.md"));
  const std::string cluster =
      absl::StrCat(FLATWALL_SOURCE_DIR, "/tests/deploy/testdata/kubectl-get-cluster.yaml");
  int shown = 0;
  for (size_t i = 0; i + 1 < blocks.size(); ++i) {
    if (blocks[i].language != "sh" || !absl::StartsWith(blocks[i].body, "flatwall explain ")) {
      continue;
    }
    SCOPED_TRACE(blocks[i].body);
    ++shown;
    std::vector<std::string> args = Words(std::string(absl::StripAsciiWhitespace(blocks[i].body)));
    args.erase(args.begin(), args.begin() + 2);  // "flatwall explain"
    std::replace(args.begin(), args.end(), std::string("cluster.yaml"), cluster);
    std::ostringstream out;
    std::ostringstream err;
    const int exit_code = cli::RunExplain(args, out, err);
    EXPECT_EQ(err.str(), "");
    ASSERT_EQ(blocks[i + 1].language, "") << "the output block after the command";
    EXPECT_EQ(out.str(), blocks[i + 1].body);
    EXPECT_EQ(exit_code, absl::StrContains(out.str(), ": DENIED") ? 1 : 0);
  }
  EXPECT_GE(shown, 2);
}

TEST(OperationsDocTest, KubectlExportNamesExactlyTheResourcesTheAgentMayRead) {
  std::set<std::string> granted;
  for (const YAML::Node& object : DeployObjects()) {
    if (object["kind"].as<std::string>() != "ClusterRole") continue;
    for (const YAML::Node& rule : object["rules"]) {
      for (const YAML::Node& resource : rule["resources"]) granted.insert(resource.as<std::string>());
    }
  }
  int exports = 0;
  for (const std::string& line : ShellLines()) {
    if (!absl::StartsWith(line, "kubectl get ")) continue;
    ++exports;
    const std::vector<std::string> words = Words(line);
    std::vector<std::string> resources = absl::StrSplit(words[2], ',');
    EXPECT_EQ(std::set<std::string>(resources.begin(), resources.end()), granted) << line;
    EXPECT_NE(std::find(words.begin(), words.end(), "-A"), words.end()) << line;
  }
  EXPECT_EQ(exports, 1);
}

TEST(OperationsDocTest, KubectlCommandsNameManifestsAndDaemonSetsThatExist) {
  std::set<std::string> daemon_sets;
  for (const YAML::Node& object : DeployObjects()) {
    if (object["kind"].as<std::string>() == "DaemonSet") {
      daemon_sets.insert(object["metadata"]["name"].as<std::string>());
    }
  }
  int checked = 0;
  for (const std::string& line : ShellLines()) {
    if (!absl::StartsWith(line, "kubectl ")) continue;
    SCOPED_TRACE(line);
    const std::vector<std::string> words = Words(line);
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "-f") {
        EXPECT_TRUE(std::filesystem::exists(absl::StrCat(FLATWALL_SOURCE_DIR, "/", words[i + 1])));
        ++checked;
      }
      if (words[i] == "-n") {
        EXPECT_EQ(words[i + 1], "flatwall-system");
      }
      if (absl::StartsWith(words[i + 1], "daemonset/")) {
        EXPECT_TRUE(daemon_sets.count(words[i + 1].substr(strlen("daemonset/"))));
        ++checked;
      }
      if (words[i] == "daemonset") {
        EXPECT_TRUE(daemon_sets.count(words[i + 1]));
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 6);
}

TEST(OperationsDocTest, UninstallCommandIsTheOneTheUninstallDaemonSetRuns) {
  std::string runs;
  for (const YAML::Node& object : DeployObjects()) {
    if (object["metadata"]["name"].as<std::string>() != "flatwall-uninstall") continue;
    for (const YAML::Node& container : object["spec"]["template"]["spec"]["initContainers"]) {
      std::vector<std::string> args;
      for (const YAML::Node& arg : container["args"]) args.push_back(arg.as<std::string>());
      runs = absl::StrCat("flatwall-agent ", absl::StrJoin(args, " "));
    }
  }
  ASSERT_FALSE(runs.empty());
  int shown = 0;
  for (const std::string& line : ShellLines()) {
    if (!absl::StartsWith(line, "flatwall-agent --uninstall")) continue;
    ++shown;
    EXPECT_EQ(line, runs);
  }
  EXPECT_EQ(shown, 1);
}

TEST(OperationsDocTest, ImageReferenceShownCarriesTheVersionTag) {
  const std::string version(absl::StripAsciiWhitespace(ReadSource("VERSION")));
  const std::string doc = ReadSource("docs/operations.md");
  const std::string marker = "# prints ";
  const size_t at = doc.find(marker);
  ASSERT_NE(at, std::string::npos);
  const std::string shown = doc.substr(at + marker.size(), doc.find('\n', at) - at - marker.size());
  EXPECT_EQ(shown, absl::StrCat("flatwall/flatwall-agent:", version));
}

}  // namespace
}  // namespace flatwall::deploy
