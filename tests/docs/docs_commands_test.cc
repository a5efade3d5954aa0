// Every command shown in a ```sh block of README.md and docs/*.md is exercised, so the
// docs cannot drift from the code:
// - `flatwall ...` runs as the built binary from the source tree (relative paths work as
//   in a checkout) and must exit 0, or the code a trailing comment states (`# exit 1`).
// - `flatwall lab ...`, and commands reading a lab's files (/run/flatwall-lab/...), need
//   root and network namespaces: as root they run in document order, one doc at a time,
//   each doc's labs taken down afterwards even when a step fails; otherwise they are
//   skipped with a message. Every `lab up` must name its lab and be followed by a `lab
//   down` of the same name in the same doc, checked without root too.
// - Other programs (bash .ci/*, bench/*.sh, kubectl, flatwall-agent) are not run: the
//   relative paths they name must exist, and every flag shown for `flatwall-agent` must be
//   listed by `flatwall-agent --help`.
// docs/operations.md and examples/policies/README.md have their own tests
// (tests/deploy/operations_doc_test.cc, tests/examples) and are left out here.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace flatwall::docs {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kDocsTestedElsewhere = {"docs/operations.md"};
constexpr char kLabFilesPrefix[] = "/run/flatwall-lab/";

struct DocCommand {
  std::string doc;   // relative to the source dir
  int line = 0;      // 1-based line of the command's first line
  std::string text;  // continuation lines joined, comment included
  int expected_exit = 0;

  std::string Where() const { return absl::StrCat(doc, ":", line, ": ", text); }
  std::vector<std::string> Words() const {
    std::string code(text.substr(0, text.find('#')));
    return absl::StrSplit(code, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  }
  bool IsFlatwall() const {
    std::vector<std::string> words = Words();
    return !words.empty() && words[0] == "flatwall";
  }
  bool NeedsLab() const {
    std::vector<std::string> words = Words();
    return IsFlatwall() && ((words.size() > 1 && words[1] == "lab") ||
                            absl::StrContains(text, kLabFilesPrefix));
  }
  // The value of `--name`, or "" when none is given.
  std::string LabName() const {
    std::vector<std::string> words = Words();
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "--name") return words[i + 1];
    }
    return "";
  }
  bool IsLab(const std::string& verb) const {
    std::vector<std::string> words = Words();
    return IsFlatwall() && words.size() > 2 && words[1] == "lab" && words[2] == verb;
  }
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> DocsUnderTest() {
  std::vector<std::string> docs = {"README.md"};
  for (const auto& entry : fs::directory_iterator(fs::path(FLATWALL_SOURCE_DIR) / "docs")) {
    if (entry.path().extension() != ".md") continue;
    std::string relative = absl::StrCat("docs/", entry.path().filename().string());
    if (kDocsTestedElsewhere.count(relative) == 0) docs.push_back(relative);
  }
  std::sort(docs.begin() + 1, docs.end());
  return docs;
}

// The command lines of the ```sh blocks; a line ending in `\` continues on the next.
std::vector<DocCommand> ShellCommands(const std::string& doc) {
  static const std::regex kExitComment(R"(#.*\bexit (\d+))");
  std::vector<DocCommand> commands;
  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(fs::path(FLATWALL_SOURCE_DIR) / doc), '\n');
  bool in_block = false;
  bool in_sh_block = false;
  std::optional<DocCommand> pending;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    if (absl::StartsWith(line, "```")) {
      in_block = !in_block;
      in_sh_block = in_block && line == "```sh";
      continue;
    }
    if (!in_sh_block || (line.empty() && !pending) || (absl::StartsWith(line, "#") && !pending))
      continue;
    if (!pending) pending = DocCommand{doc, static_cast<int>(i + 1), "", 0};
    if (absl::ConsumeSuffix(&line, "\\")) {
      absl::StrAppend(&pending->text, line, " ");
      continue;
    }
    absl::StrAppend(&pending->text, line);
    std::smatch match;
    if (std::regex_search(pending->text, match, kExitComment)) {
      pending->expected_exit = std::stoi(match[1].str());
    }
    commands.push_back(*pending);
    pending.reset();
  }
  return commands;
}

std::vector<DocCommand> AllCommands() {
  std::vector<DocCommand> all;
  for (const std::string& doc : DocsUnderTest()) {
    for (DocCommand& command : ShellCommands(doc)) all.push_back(std::move(command));
  }
  return all;
}

struct RunResult {
  int exit_code = -1;
  std::string output;
};

// Runs `shell_line` with /bin/sh from the source dir; stdout and stderr together.
RunResult RunShell(const std::string& shell_line) {
  char dir_template[] = "/tmp/flatwall-docs-test-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  EXPECT_NE(dir, nullptr);
  if (dir == nullptr) return {};
  std::string output_file = absl::StrCat(dir, "/output");
  // The newline ends a trailing `# comment` of the doc's line before the `)`.
  std::string script = absl::StrCat("cd '", FLATWALL_SOURCE_DIR, "' && ( ", shell_line,
                                    "\n) >'", output_file, "' 2>&1");
  int status = std::system(script.c_str());
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = ReadFile(output_file);
  fs::remove_all(dir);
  return result;
}

// The command with its leading `flatwall` replaced by the built binary.
RunResult RunFlatwall(const DocCommand& command) {
  std::string rest(absl::StripPrefix(absl::StripLeadingAsciiWhitespace(command.text),
                                     "flatwall"));
  return RunShell(absl::StrCat("'", FLATWALL_BINARY, "'", rest));
}

void LabDown(const std::string& name) {
  RunShell(absl::StrCat("'", FLATWALL_BINARY, "' lab down --name ", name));
}

void ExpectRunsAsDocumented(const DocCommand& command) {
  SCOPED_TRACE(command.Where());
  RunResult result = RunFlatwall(command);
  EXPECT_EQ(result.exit_code, command.expected_exit) << result.output;
}

TEST(DocsCommandsTest, TheDocsShowFlatwallCommandsAtAll) {
  int flatwall_commands = 0;
  for (const DocCommand& command : AllCommands()) flatwall_commands += command.IsFlatwall();
  // README's tour alone shows more than ten; a parser that finds none proves nothing.
  EXPECT_GE(flatwall_commands, 10);
}

TEST(DocsCommandsTest, FlatwallCommandsExitAsTheDocsSay) {
  std::vector<std::string> skipped;
  for (const DocCommand& command : AllCommands()) {
    if (!command.IsFlatwall() || command.NeedsLab()) continue;
    // The real BPF programs need root (a temporary pin root under /sys/fs/bpf).
    if (absl::StrContains(command.text, "--datapath bpf") && geteuid() != 0) {
      skipped.push_back(command.Where());
      continue;
    }
    ExpectRunsAsDocumented(command);
  }
  for (const std::string& where : skipped) std::cout << "not root, skipped: " << where << "\n";
}

TEST(DocsCommandsTest, EveryLabUpNamesItsLabAndIsTakenDownInTheSameDoc) {
  std::map<std::string, std::set<std::string>> names_up_by_doc;
  for (const DocCommand& command : AllCommands()) {
    SCOPED_TRACE(command.Where());
    if (command.IsLab("up")) {
      EXPECT_NE(command.LabName(), "") << "a lab up without --name";
      EXPECT_TRUE(names_up_by_doc[command.doc].insert(command.LabName()).second)
          << "already up";
    } else if (command.IsLab("down")) {
      EXPECT_EQ(names_up_by_doc[command.doc].erase(command.LabName()), 1u) << "not up";
    } else if (command.NeedsLab()) {
      EXPECT_TRUE(command.LabName().empty() ||
                  names_up_by_doc[command.doc].count(command.LabName()) == 1)
          << "not up";
    }
  }
  for (const auto& [doc, names] : names_up_by_doc) {
    EXPECT_TRUE(names.empty()) << doc << " leaves a lab up: " << *names.begin();
  }
}

// Lab names are unique across the docs so that docs never share (or break) a lab.
TEST(DocsCommandsTest, NoTwoDocsUseTheSameLabName) {
  std::map<std::string, std::string> doc_by_name;
  for (const DocCommand& command : AllCommands()) {
    if (!command.IsLab("up")) continue;
    auto [it, inserted] = doc_by_name.emplace(command.LabName(), command.doc);
    EXPECT_TRUE(inserted || it->second == command.doc)
        << command.LabName() << " in " << it->second << " and " << command.doc;
  }
}

TEST(DocsLabCommandsTest, RunInOrderAndEveryLabComesDown) {
  if (geteuid() != 0) GTEST_SKIP() << "the lab commands need root (network namespaces)";
  std::map<std::string, std::vector<DocCommand>> lab_commands_by_doc;
  for (const DocCommand& command : AllCommands()) {
    if (command.NeedsLab()) lab_commands_by_doc[command.doc].push_back(command);
  }
  ASSERT_FALSE(lab_commands_by_doc.empty());
  for (const auto& [doc, commands] : lab_commands_by_doc) {
    // A lab left over by an interrupted earlier run would make `lab up` fail.
    for (const DocCommand& command : commands) {
      if (command.IsLab("up")) LabDown(command.LabName());
    }
    std::set<std::string> up;
    for (const DocCommand& command : commands) {
      if (command.IsLab("up")) up.insert(command.LabName());
      ExpectRunsAsDocumented(command);
      if (command.IsLab("down")) up.erase(command.LabName());
    }
    // A failed step must not leave namespaces and agents behind for the next test.
    for (const std::string& name : up) LabDown(name);
  }
}

bool IsRelativePath(const std::string& word) {
  return absl::StrContains(word, "/") && !absl::StartsWith(word, "/") &&
         !absl::StartsWith(word, "-") && !absl::StrContains(word, "://") &&
         !absl::StrContains(word, "=");
}

TEST(DocsCommandsTest, OtherProgramsNameFilesThatExist) {
  for (const DocCommand& command : AllCommands()) {
    if (command.IsFlatwall()) continue;
    SCOPED_TRACE(command.Where());
    for (const std::string& word : command.Words()) {
      if (!IsRelativePath(word)) continue;
      EXPECT_TRUE(fs::exists(fs::path(FLATWALL_SOURCE_DIR) / word)) << word << " is missing";
    }
  }
}

TEST(DocsCommandsTest, AgentFlagsShownAreListedByAgentHelp) {
  RunResult help = RunShell(absl::StrCat("'", FLATWALL_AGENT_BINARY, "' --help"));
  ASSERT_EQ(help.exit_code, 0) << help.output;
  for (const DocCommand& command : AllCommands()) {
    std::vector<std::string> words = command.Words();
    if (words.empty() || fs::path(words[0]).filename() != "flatwall-agent") continue;
    SCOPED_TRACE(command.Where());
    for (const std::string& word : words) {
      if (!absl::StartsWith(word, "--")) continue;
      std::string flag(word.substr(0, word.find('=')));
      EXPECT_TRUE(absl::StrContains(help.output, flag)) << flag << " is not in --help";
    }
  }
}

// docs/agent.md shows the agent's usage text verbatim and names flags in its prose.
TEST(DocsCommandsTest, AgentDocShowsTheAgentsHelpVerbatimAndOnlyItsFlags) {
  RunResult help = RunShell(absl::StrCat("'", FLATWALL_AGENT_BINARY, "' --help"));
  ASSERT_EQ(help.exit_code, 0) << help.output;
  const std::string doc = ReadFile(fs::path(FLATWALL_SOURCE_DIR) / "docs/agent.md");
  const std::string kIntro = "`flatwall-agent --help` prints:\n\n```\n";
  size_t start = doc.find(kIntro);
  ASSERT_NE(start, std::string::npos) << "docs/agent.md no longer shows the usage text";
  start += kIntro.size();
  size_t end = doc.find("```", start);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(doc.substr(start, end - start), help.output);

  static const std::regex kFlag(R"(--[a-z][a-z-]*)");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), kFlag);
       it != std::sregex_iterator(); ++it) {
    if (it->str() == "--help") continue;
    EXPECT_TRUE(absl::StrContains(help.output, it->str() + " ") ||
                absl::StrContains(help.output, it->str() + "\n"))
        << it->str() << " is named in docs/agent.md but is not a flag of flatwall-agent";
  }
}

}  // namespace
}  // namespace flatwall::docs
