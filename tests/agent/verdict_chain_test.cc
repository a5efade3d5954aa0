#include "agent/daemon/verdict_chain.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// `count` sealed records continuing `link`, each a line with its newline.
std::vector<std::string> SealedLines(int count, ChainLink& link) {
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    nlohmann::json record = {{"schema", 2}, {"reason", "DEFAULT_DENY"}, {"n", i}};
    lines.push_back(SealRecord(record, link) + "\n");
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines, size_t from = 0,
                 size_t to = std::string::npos) {
  std::string text;
  for (size_t i = from; i < std::min(to, lines.size()); ++i) text += lines[i];
  return text;
}

TEST(VerdictChainTest, SealingNumbersRecordsAndLinksEachToTheHashOfThePreviousLine) {
  ChainLink link;
  std::vector<std::string> lines = SealedLines(2, link);
  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  const nlohmann::json second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["prev_hash"], kGenesisHash);
  EXPECT_EQ(second["seq"], 2);
  EXPECT_EQ(second["prev_hash"], Sha256Hex(lines[0].substr(0, lines[0].size() - 1)));
  EXPECT_EQ(link.seq, 2u);
  EXPECT_EQ(link.hash, Sha256Hex(lines[1].substr(0, lines[1].size() - 1)));
}

TEST(VerdictChainTest, Sha256MatchesTheStandardTestVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(VerdictChainTest, IntactChainVerifies) {
  ChainLink link;
  std::vector<std::string> lines = SealedLines(5, link);
  ChainReport report = VerifyChain({{"verdicts.jsonl", Join(lines)}});
  EXPECT_TRUE(report.ok) << report.location << ": " << report.problem;
  EXPECT_EQ(report.records, 5u);
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.last_seq, 5u);
}

// Each way a log can be damaged, and the first line verification names.
TEST(VerdictChainTest, DamagedLogsNameTheFirstBadLineAndWhy) {
  ChainLink link;
  const std::vector<std::string> lines = SealedLines(5, link);
  auto tampered = lines;
  tampered[1].replace(tampered[1].find("DEFAULT_DENY"), 12, "RULE_ALLOWED");
  auto reordered = lines;
  std::swap(reordered[2], reordered[3]);
  auto removed = lines;
  removed.erase(removed.begin() + 2);
  auto garbage = lines;
  garbage[3] = "not json\n";
  ChainLink other;
  auto forged_start = SealedLines(2, other);
  forged_start[0].replace(forged_start[0].find(kGenesisHash), 4, "ffff");
  struct Case {
    const char* name;
    std::string contents;
    const char* want_location;
    const char* want_problem;
  };
  const Case cases[] = {
      {"a tampered line", Join(tampered), "log:3",
       "prev_hash is not the hash of the previous record (log:2)"},
      {"a truncated file", Join(lines).substr(0, Join(lines).size() - 10), "log:5", "truncated"},
      {"reordered lines", Join(reordered), "log:3",
       "seq 4 follows seq 2 (log:2): expected 3, records missing"},
      {"a removed line", Join(removed), "log:3", "seq 4 follows seq 2"},
      {"a line that is no record", Join(garbage), "log:4", "not a JSON object"},
      {"a forged first record", Join(forged_start), "log:1", "genesis"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ChainReport report = VerifyChain({{"log", c.contents}});
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.location, c.want_location);
    EXPECT_THAT(report.problem, HasSubstr(c.want_problem));
  }
}

TEST(VerdictChainTest, ChainContinuesAcrossRotatedFilesGivenInAnyOrder) {
  ChainLink link;
  const std::vector<std::string> lines = SealedLines(9, link);
  // verdicts.jsonl.2 is the oldest, verdicts.jsonl the active file.
  const LogFileText oldest{"verdicts.jsonl.2", Join(lines, 0, 3)};
  const LogFileText middle{"verdicts.jsonl.1", Join(lines, 3, 6)};
  const LogFileText newest{"verdicts.jsonl", Join(lines, 6)};
  ChainReport report = VerifyChain({newest, oldest, middle, {"empty", ""}});
  EXPECT_TRUE(report.ok) << report.location << ": " << report.problem;
  EXPECT_EQ(report.records, 9u);

  // Older rotations deleted: the chain as given starts later, which is no error.
  report = VerifyChain({newest, middle});
  EXPECT_TRUE(report.ok) << report.location << ": " << report.problem;
  EXPECT_EQ(report.first_seq, 4u);

  // A rotated file missing in the middle is a gap at the first record after it.
  report = VerifyChain({newest, oldest});
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.location, "verdicts.jsonl:1");
  EXPECT_THAT(report.problem, HasSubstr("seq 7 follows seq 3 (verdicts.jsonl.2:3)"));

  // The last line of a rotated file altered: caught at the first line of the next file.
  LogFileText altered = middle;
  altered.contents.replace(altered.contents.rfind("DEFAULT_DENY"), 12, "XXXXXXXXXXXX");
  report = VerifyChain({newest, oldest, altered});
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.location, "verdicts.jsonl:1");
  EXPECT_THAT(report.problem, HasSubstr("(verdicts.jsonl.1:3)"));

  // One file given twice repeats records.
  report = VerifyChain({newest, middle, middle});
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.problem, HasSubstr("repeated or reordered"));
}

class RecoverChainLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("flatwall-chain-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "verdicts.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static void WriteFile(const std::string& path, const std::string& contents) {
    std::ofstream(path, std::ios::binary) << contents;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(RecoverChainLinkTest, NoLogStartsAFreshChain) {
  absl::StatusOr<ChainLink> link = RecoverChainLink(path_);
  FW_ASSERT_OK(link);
  EXPECT_EQ(link->seq, 0u);
  EXPECT_EQ(link->hash, kGenesisHash);
}

TEST_F(RecoverChainLinkTest, ContinuesFromTheLastCompleteLineOfTheActiveFile) {
  ChainLink written;
  std::vector<std::string> lines = SealedLines(3, written);
  // A torn last line (a crash mid-write) is not a record to continue from.
  WriteFile(path_, Join(lines) + "{\"schema\":2,\"se");
  absl::StatusOr<ChainLink> link = RecoverChainLink(path_);
  FW_ASSERT_OK(link);
  EXPECT_EQ(link->seq, written.seq);
  EXPECT_EQ(link->hash, written.hash);
}

TEST_F(RecoverChainLinkTest, EmptyActiveFileContinuesFromTheRotatedOne) {
  ChainLink written;
  WriteFile(path_ + ".1", Join(SealedLines(4, written)));
  WriteFile(path_, "");
  absl::StatusOr<ChainLink> link = RecoverChainLink(path_);
  FW_ASSERT_OK(link);
  EXPECT_EQ(link->seq, 4u);
  EXPECT_EQ(link->hash, written.hash);
}

TEST_F(RecoverChainLinkTest, LastLineThatIsNoSealedRecordIsDataLoss) {
  WriteFile(path_, "{\"schema\":1}\n");
  EXPECT_THAT(RecoverChainLink(path_),
              testing::StatusIs(absl::StatusCode::kDataLoss, HasSubstr("verdicts.jsonl")));
}

}  // namespace
}  // namespace flatwall::agent
