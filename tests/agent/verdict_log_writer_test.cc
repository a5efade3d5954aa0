#include "agent/daemon/verdict_log_writer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

class VerdictLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fwt-verdict-log-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ / "verdicts.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Read(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string Rotated(int n) const { return absl::StrCat(path_.string(), ".", n); }

  std::unique_ptr<VerdictLogWriter> Open(uint64_t max_bytes, int max_files) {
    absl::StatusOr<std::unique_ptr<VerdictLogWriter>> writer =
        VerdictLogWriter::Open({path_.string(), max_bytes, max_files});
    EXPECT_TRUE(writer.ok()) << writer.status();
    return writer.ok() ? std::move(*writer) : nullptr;
  }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

// Nine bytes and a newline: "line-0001".
std::string Line(int i) { return absl::StrCat("line-", absl::Dec(i, absl::kZeroPad4)); }

TEST_F(VerdictLogWriterTest, RotationAtTheSizeLimitKeepsMaxFiles) {
  std::unique_ptr<VerdictLogWriter> writer = Open(/*max_bytes=*/30, /*max_files=*/2);
  ASSERT_NE(writer, nullptr);
  // Three 10-byte lines fill a file; ten lines make four files, of which three stay.
  for (int i = 1; i <= 10; ++i) FW_ASSERT_OK(writer->Write({Line(i)}));

  EXPECT_EQ(Read(path_), "line-0010\n");
  EXPECT_EQ(Read(Rotated(1)), "line-0007\nline-0008\nline-0009\n");
  EXPECT_EQ(Read(Rotated(2)), "line-0004\nline-0005\nline-0006\n");
  EXPECT_FALSE(std::filesystem::exists(Rotated(3)));
  EXPECT_EQ(writer->current_bytes(), 10u);
}

TEST_F(VerdictLogWriterTest, RotatesBetweenLinesOfOneBatch) {
  std::unique_ptr<VerdictLogWriter> writer = Open(/*max_bytes=*/25, /*max_files=*/1);
  ASSERT_NE(writer, nullptr);
  FW_ASSERT_OK(writer->Write({Line(1), Line(2), Line(3)}));
  EXPECT_EQ(Read(Rotated(1)), "line-0001\nline-0002\n");
  EXPECT_EQ(Read(path_), "line-0003\n");
}

TEST_F(VerdictLogWriterTest, ReopenedLogCountsTheExistingSize) {
  { std::ofstream(path_) << "old-old-old-old-old\n"; }  // 20 bytes
  std::unique_ptr<VerdictLogWriter> writer = Open(/*max_bytes=*/25, /*max_files=*/1);
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(writer->current_bytes(), 20u);
  FW_ASSERT_OK(writer->Write({Line(1)}));
  EXPECT_EQ(Read(Rotated(1)), "old-old-old-old-old\n");
  EXPECT_EQ(Read(path_), "line-0001\n");
}

TEST_F(VerdictLogWriterTest, LineLongerThanTheLimitGetsAFileOfItsOwn) {
  std::unique_ptr<VerdictLogWriter> writer = Open(/*max_bytes=*/15, /*max_files=*/3);
  ASSERT_NE(writer, nullptr);
  const std::string long_line(40, 'x');
  FW_ASSERT_OK(writer->Write({Line(1), long_line, Line(2)}));
  EXPECT_EQ(Read(Rotated(2)), "line-0001\n");
  EXPECT_EQ(Read(Rotated(1)), long_line + "\n");
  EXPECT_EQ(Read(path_), "line-0002\n");
}

TEST_F(VerdictLogWriterTest, NoRotatedFilesMeansTheLogStartsOver) {
  std::unique_ptr<VerdictLogWriter> writer = Open(/*max_bytes=*/20, /*max_files=*/0);
  ASSERT_NE(writer, nullptr);
  FW_ASSERT_OK(writer->Write({Line(1), Line(2), Line(3)}));
  EXPECT_EQ(Read(path_), "line-0003\n");
  EXPECT_FALSE(std::filesystem::exists(Rotated(1)));
}

TEST_F(VerdictLogWriterTest, ZeroMaxBytesNeverRotates) {
  std::unique_ptr<VerdictLogWriter> writer = Open(/*max_bytes=*/0, /*max_files=*/2);
  ASSERT_NE(writer, nullptr);
  for (int i = 1; i <= 3; ++i) FW_ASSERT_OK(writer->Write({Line(i)}));
  EXPECT_EQ(Read(path_), "line-0001\nline-0002\nline-0003\n");
  EXPECT_FALSE(std::filesystem::exists(Rotated(1)));
}

TEST_F(VerdictLogWriterTest, OpenReportsAMissingDirectoryWithThePath) {
  const std::string path = (dir_ / "missing" / "verdicts.log").string();
  EXPECT_THAT(VerdictLogWriter::Open({path, 100, 1}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

TEST_F(VerdictLogWriterTest, OpenRejectsBadOptions) {
  EXPECT_THAT(VerdictLogWriter::Open({"", 100, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(VerdictLogWriter::Open({path_.string(), 100, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_files")));
}

TEST_F(VerdictLogWriterTest, DashWritesToStdout) {
  absl::StatusOr<std::unique_ptr<VerdictLogWriter>> writer = VerdictLogWriter::Open({"-", 1, 1});
  FW_ASSERT_OK(writer);
  ::testing::internal::CaptureStdout();
  const absl::Status status = (*writer)->Write({"{\"schema\":1}", "{\"schema\":1}"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  FW_EXPECT_OK(status);
  EXPECT_EQ(out, "{\"schema\":1}\n{\"schema\":1}\n");  // max_bytes does not apply to stdout
}

}  // namespace
}  // namespace flatwall::agent
