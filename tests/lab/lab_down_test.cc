// `lab down` after things went wrong: a `lab up` killed half-way, a lost state directory,
// nothing up at all. Driven through the real `flatwall` binary, as a user would. Needs root.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent/lab/lab.h"
#include "agent/lab/netns.h"
#include "agent/lab/run_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/reachability_cluster.h"
#include "tests/testing/status_matchers.h"

extern char** environ;

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LabDownTest : public RealLabTest {
 protected:
  absl::StatusOr<std::string> Flatwall(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {FlatwallBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
};

TEST_F(LabDownTest, CleansUpAfterLabUpWasKilledHalfWay) {
  std::string cluster = temp_.Write("cluster.yaml", testing::E2eClusterYaml());
  std::vector<std::string> args = {FlatwallBinary(), "lab",         "up",   "--name",
                                   lab_name_,        "--no-agents", cluster};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t up = 0;
  ASSERT_EQ(posix_spawn(&up, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // Kill it as soon as it has started some pod servers: namespaces, veths, routes and
  // processes exist, the state file does not yet.
  fs::path pods = LabNames(lab_name_).StateDir() + "/pods";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto has_ready_server = [&] {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(pods, error)) {
      if (entry.path().extension() == ".ready") return true;
    }
    return false;
  };
  while (!has_ready_server() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(up, SIGKILL);
  int status = 0;
  waitpid(up, &status, 0);
  std::vector<pid_t> left_behind = LabProcesses();
  EXPECT_FALSE(left_behind.empty());
  EXPECT_FALSE(ListNetns(LabNames(lab_name_).NetnsPrefix()).empty());

  absl::StatusOr<std::string> down = Flatwall({"lab", "down", "--name", lab_name_});
  FW_ASSERT_OK(down);
  EXPECT_THAT(*down, HasSubstr("removed"));
  ExpectNothingLeft(left_behind);
  down = Flatwall({"lab", "down", "--name", lab_name_});
  FW_ASSERT_OK(down);
  EXPECT_THAT(*down, HasSubstr("nothing to remove"));
}

TEST_F(LabDownTest, FindsEverythingByNameWhenTheStateIsLost) {
  std::string cluster = temp_.Write("cluster.yaml", testing::E2eClusterYaml());
  FW_ASSERT_OK(Flatwall({"lab", "up", "--name", lab_name_, "--no-agents", cluster}));
  std::vector<pid_t> servers = LabProcesses();
  EXPECT_EQ(servers.size(), 9u);
  fs::remove_all(LabNames(lab_name_).StateDir());
  absl::StatusOr<std::string> down = Flatwall({"lab", "down", "--name", lab_name_});
  FW_ASSERT_OK(down);
  EXPECT_THAT(*down, HasSubstr("9 process(es) stopped, 12 namespace(s) deleted"));
  ExpectNothingLeft(servers);
}

TEST_F(LabDownTest, NothingUpIsFine) {
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE(run);
    absl::StatusOr<TeardownReport> report = LabDown(lab_name_);
    FW_ASSERT_OK(report);
    EXPECT_TRUE(report->nothing_found());
  }
}

TEST_F(LabDownTest, InvalidNamesAreRefused) {
  absl::StatusOr<std::string> down = Flatwall({"lab", "down", "--name", "../etc"});
  EXPECT_THAT(down, flatwall::testing::StatusIs(absl::StatusCode::kInternal,
                                                HasSubstr("lowercase letters or digits")));
}

}  // namespace
}  // namespace flatwall::lab
