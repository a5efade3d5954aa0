// Agents in a real lab, played by a stand-in: the agent binary does not exist yet, so a
// script records how it was started (arguments, network namespace) and then listens where
// an agent would. Checks the launcher's contract, not an agent. Needs root.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/lab/agent_launcher.h"
#include "agent/lab/lab.h"
#include "agent/lab/netns.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/reachability_cluster.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;

class LabAgentsTest : public RealLabTest {
 protected:
  void SetUp() override {
    RealLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    record_dir_ = temp_.path() + "/started";
    fs::create_directories(record_dir_);
    agent_ = temp_.Write("fake-agent",
                         absl::StrCat("#!/bin/sh\n"
                                      "# Records its start, then listens where an agent would.\n"
                                      "{ echo \"$@\"; readlink /proc/self/ns/net; } > ",
                                      record_dir_, "/$$\n", "exec ", FlatwallBinary(),
                                      " lab serve --pod agent --ports tcp:", kAgentListenPort,
                                      " --ready-file ''\n"));
    chmod(agent_.c_str(), 0755);
    UpOptions options;
    options.name = lab_name_;
    options.agent_binary = agent_;
    options.flatwall_binary = FlatwallBinary();
    options.files = {temp_.Write("cluster.yaml", testing::E2eClusterYaml())};
    absl::StatusOr<TopologyPlan> plan = LabUp(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *plan;
  }

  // Each start of the stand-in: its arguments and its network namespace link.
  std::vector<std::pair<std::string, std::string>> Starts() const {
    std::vector<std::pair<std::string, std::string>> starts;
    for (const auto& entry : fs::directory_iterator(record_dir_)) {
      std::ifstream in(entry.path());
      std::string args, netns;
      std::getline(in, args);
      std::getline(in, netns);
      starts.emplace_back(args, netns);
    }
    std::sort(starts.begin(), starts.end());
    return starts;
  }

  std::string record_dir_;
  std::string agent_;
  TopologyPlan plan_;
};

TEST_F(LabAgentsTest, EachNodeRunsItsAgentInItsNamespaceWithItsOwnPaths) {
  LabNames names(lab_name_);
  std::vector<std::pair<std::string, std::string>> starts = Starts();
  ASSERT_EQ(starts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const NodePlan& node = plan_.nodes[i];
    SCOPED_TRACE(node.name);
    EXPECT_EQ(
        starts[i].first,
        absl::StrCat("--node-name ", node.name, " --source dir:", names.NodeManifestDir(node.name),
                     " --bpffs-root /sys/fs/bpf/flatwall-lab-", lab_name_, "-", node.name,
                     " --verdict-log ", names.NodeDir(node.name), "/verdicts.jsonl",
                     " --listen 127.0.0.1:", kAgentListenPort));
    absl::StatusOr<ino_t> inode = NetnsInode(node.netns);
    FW_ASSERT_OK(inode);
    EXPECT_EQ(starts[i].second, absl::StrCat("net:[", *inode, "]"));
    EXPECT_TRUE(fs::is_directory(names.BpffsRoot(node.name)));
    std::vector<std::string> manifests;
    for (const auto& entry : fs::directory_iterator(names.NodeManifestDir(node.name))) {
      manifests.push_back(entry.path().filename().string());
    }
    EXPECT_THAT(manifests, Contains("pod.x.a.yaml"));
    EXPECT_THAT(manifests, Contains("namespace.y.yaml"));
    EXPECT_THAT(manifests, Contains("service.z.fwlab-c.json"));  // added by the lab
  }
}

TEST_F(LabAgentsTest, AnAgentCanBeKilledStoppedAndStartedAgain) {
  AgentLauncher agents(LabNames(lab_name_), agent_);
  const NodePlan& node = plan_.nodes[1];
  std::optional<pid_t> first = agents.Pid(node);
  ASSERT_TRUE(first.has_value());
  FW_ASSERT_OK(agents.Kill(node));
  EXPECT_EQ(agents.Pid(node), std::nullopt);
  FW_ASSERT_OK(agents.Start(node));
  std::optional<pid_t> second = agents.Pid(node);
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*second, *first);
  EXPECT_THAT(agents.Start(node),
              flatwall::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                          ::testing::HasSubstr("already running")));
  FW_ASSERT_OK(agents.Stop(node));
  EXPECT_EQ(agents.Pid(node), std::nullopt);
  FW_EXPECT_OK(agents.Stop(node));  // stopping a stopped agent is fine
  EXPECT_EQ(Starts().size(), 3u);
}

TEST_F(LabAgentsTest, DownRemovesTheAgentsAndTheirPinRoots) {
  std::vector<pid_t> processes = LabProcesses();
  EXPECT_EQ(processes.size(), 9u + 2u);
  absl::StatusOr<TeardownReport> report = LabDown(lab_name_);
  FW_ASSERT_OK(report);
  EXPECT_EQ(report->pin_roots_removed.size(), 2u);
  ExpectNothingLeft(processes);
}

}  // namespace
}  // namespace flatwall::lab
