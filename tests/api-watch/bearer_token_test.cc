// BearerToken: a fixed token, and a token file re-read when the kubelet rotates it (a new
// file renamed into place, a symlink re-pointed, or the file rewritten).
#include "api-watch/bearer_token.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

class BearerTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flatwall-token-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = directory_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }

  std::string directory_;
};

TEST_F(BearerTokenTest, FixedTokenIsReturnedAsGiven) {
  EXPECT_EQ(BearerToken::Fixed("abc").Current(), "abc");
  EXPECT_EQ(BearerToken().Current(), "");
}

TEST_F(BearerTokenTest, FileTokenIsTrimmed) {
  absl::StatusOr<BearerToken> token = BearerToken::FromFile(Write("token", "  one\n"));
  FW_ASSERT_OK(token);
  EXPECT_EQ(token->Current(), "one");
}

TEST_F(BearerTokenTest, TokenRenamedIntoPlaceIsPickedUp) {
  std::string path = Write("token", "one");
  absl::StatusOr<BearerToken> token = BearerToken::FromFile(path);
  FW_ASSERT_OK(token);
  EXPECT_EQ(token->Current(), "one");
  // Same size, written in the same instant: only the inode tells the files apart.
  ASSERT_EQ(std::rename(Write("token.new", "two").c_str(), path.c_str()), 0);
  EXPECT_EQ(token->Current(), "two");
}

TEST_F(BearerTokenTest, TokenBehindARepointedSymlinkIsPickedUp) {
  // The kubelet's layout: token -> ..data/token, ..data -> a timestamped directory.
  std::filesystem::create_directory(directory_ + "/v1");
  std::filesystem::create_directory(directory_ + "/v2");
  Write("v1/token", "one");
  Write("v2/token", "two");
  std::filesystem::create_directory_symlink("v1", directory_ + "/..data");
  std::filesystem::create_symlink("..data/token", directory_ + "/token");
  absl::StatusOr<BearerToken> token = BearerToken::FromFile(directory_ + "/token");
  FW_ASSERT_OK(token);
  EXPECT_EQ(token->Current(), "one");
  std::filesystem::create_directory_symlink("v2", directory_ + "/..data_tmp");
  std::filesystem::rename(directory_ + "/..data_tmp", directory_ + "/..data");
  EXPECT_EQ(token->Current(), "two");
}

TEST_F(BearerTokenTest, TokenRewrittenInPlaceIsPickedUp) {
  std::string path = Write("token", "one");
  absl::StatusOr<BearerToken> token = BearerToken::FromFile(path);
  FW_ASSERT_OK(token);
  EXPECT_EQ(token->Current(), "one");
  Write("token", "second");
  EXPECT_EQ(token->Current(), "second");
}

TEST_F(BearerTokenTest, LastTokenIsKeptWhileTheFileIsMissing) {
  std::string path = Write("token", "one");
  absl::StatusOr<BearerToken> token = BearerToken::FromFile(path);
  FW_ASSERT_OK(token);
  ASSERT_EQ(unlink(path.c_str()), 0);
  EXPECT_EQ(token->Current(), "one");
  Write("token", "two");
  EXPECT_EQ(token->Current(), "two");
}

TEST_F(BearerTokenTest, UnreadableOrEmptyFileIsAnErrorNamingIt) {
  std::string missing = directory_ + "/missing";
  EXPECT_THAT(BearerToken::FromFile(missing),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
  std::string empty = Write("empty", "\n");
  EXPECT_THAT(BearerToken::FromFile(empty),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(empty)));
}

}  // namespace
}  // namespace flatwall::apiwatch
