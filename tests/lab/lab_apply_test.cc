// `lab apply` on a real lab: pods added, deleted and changed while the rest stays up.
// Needs root.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/lab/lab.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"
#include "agent/lab/run_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;
using compiler::Protocol;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::chrono::milliseconds kTimeout{2000};

class LabApplyTest : public RealLabTest {
 protected:
  void SetUp() override {
    RealLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    UpOptions options;
    options.name = lab_name_;
    options.agents = false;
    options.flatwall_binary = FlatwallBinary();
    options.files = {
        temp_.Write("base.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n" +
                                     PodYaml("x", "a", "{pod: a}", "node-1", {}) +
                                     PodYaml("x", "b", "{pod: b}", "node-2", {}))};
    absl::StatusOr<TopologyPlan> plan = LabUp(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    before_ = *plan;
  }

  ApplyReport Apply(const std::string& yaml, bool deletion = false) {
    std::string file = temp_.Write(absl::StrCat("apply-", ++applied_, ".yaml"), yaml);
    ApplyOptions options;
    options.name = lab_name_;
    (deletion ? options.delete_files : options.files) = {file};
    absl::StatusOr<ApplyReport> report = LabApply(options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : ApplyReport{};
  }

  // "from -> to" of every probe, with " X" appended to the denied ones.
  std::vector<std::string> Probe(uint16_t port) {
    absl::StatusOr<std::vector<ProbeResult>> results =
        LabProbe(lab_name_, {port, Protocol::kTcp, false, kTimeout});
    EXPECT_TRUE(results.ok()) << results.status();
    std::vector<std::string> pairs;
    for (const ProbeResult& result : results.ok() ? *results : std::vector<ProbeResult>{}) {
      pairs.push_back(absl::StrCat(result.reachability.from, " -> ", result.reachability.to,
                                   result.reachability.allowed ? "" : " X"));
    }
    return pairs;
  }

  std::vector<std::string> NodeManifests(const std::string& node) const {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(LabNames(lab_name_).NodeManifestDir(node))) {
      files.push_back(entry.path().filename().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  TopologyPlan before_;
  int applied_ = 0;
};

TEST_F(LabApplyTest, AddedPodIsBuiltAndAnswersWhileOthersStayUntouched) {
  std::vector<pid_t> servers_before = LabProcesses();
  ApplyReport report = Apply(PodYaml("x", "c", "{pod: c}", "", {}));
  EXPECT_THAT(report.pods_added, ElementsAre("x/c"));
  EXPECT_THAT(report.pods_removed, IsEmpty());
  EXPECT_EQ(*report.plan.FindPod("x/a"), *before_.FindPod("x/a"));
  for (pid_t pid : servers_before)
    EXPECT_TRUE(ProcessAlive(pid)) << "server " << pid << " restarted";
  EXPECT_THAT(Probe(80),
              ElementsAre("x/a -> x/a", "x/a -> x/b", "x/a -> x/c", "x/b -> x/a", "x/b -> x/b",
                          "x/b -> x/c", "x/c -> x/a", "x/c -> x/b", "x/c -> x/c"));
  // The pods have no IPs in their manifests: the agents get them as JSON with the
  // addresses the lab allocated.
  for (const char* node : {"node-1", "node-2"}) {
    SCOPED_TRACE(node);
    EXPECT_THAT(
        NodeManifests(node),
        ElementsAre("namespace.x.yaml", "pod.x.a.json", "pod.x.b.json", "pod.x.c.json",
                    "service.x.fwlab-a.json", "service.x.fwlab-b.json", "service.x.fwlab-c.json"));
  }
}

TEST_F(LabApplyTest, DeletedPodIsTornDown) {
  const PodPlan& doomed = *before_.FindPod("x/b");
  std::vector<pid_t> its_server = ProcessesInNetns(doomed.netns);
  ASSERT_EQ(its_server.size(), 1u);
  ApplyReport report = Apply(PodYaml("x", "b", "{}", "", {}), /*deletion=*/true);
  EXPECT_THAT(report.pods_removed, ElementsAre("x/b"));
  EXPECT_FALSE(NetnsExists(doomed.netns));
  EXPECT_FALSE(ProcessAlive(its_server[0]));
  EXPECT_THAT(Probe(80), ElementsAre("x/a -> x/a"));
  absl::StatusOr<std::string> fabric_routes =
      RunCommand(InNetns(before_.fabric_netns, {"ip", "route"}));
  FW_ASSERT_OK(fabric_routes);
  EXPECT_THAT(*fabric_routes, Not(HasSubstr(doomed.ipv4->ToString() + " ")));
  EXPECT_THAT(NodeManifests("node-1"),
              ElementsAre("namespace.x.yaml", "pod.x.a.json", "service.x.fwlab-a.json"));
}

TEST_F(LabApplyTest, NewLabelsKeepThePodAndNewPortsRestartItsServer) {
  std::vector<pid_t> server = ProcessesInNetns(before_.FindPod("x/a")->netns);
  ApplyReport relabelled = Apply(PodYaml("x", "a", "{pod: a, color: blue}", "node-1", {}));
  EXPECT_THAT(relabelled.pods_added, IsEmpty());
  EXPECT_THAT(relabelled.pods_restarted, IsEmpty());
  EXPECT_EQ(ProcessesInNetns(before_.FindPod("x/a")->netns), server);

  ApplyReport ported =
      Apply(PodYaml("x", "a", "{pod: a}", "node-1", {}, {"{containerPort: 8080}"}));
  EXPECT_THAT(ported.pods_restarted, ElementsAre("x/a"));
  EXPECT_THAT(Probe(8080), ElementsAre("x/a -> x/a", "x/a -> x/b X", "x/b -> x/a", "x/b -> x/b X"));
}

TEST_F(LabApplyTest, MovedPodIsRebuiltOnItsNewNode) {
  ApplyReport report = Apply(PodYaml("x", "a", "{pod: a}", "node-2", {}));
  EXPECT_THAT(report.pods_removed, ElementsAre("x/a"));
  EXPECT_THAT(report.pods_added, ElementsAre("x/a"));
  EXPECT_EQ(report.plan.FindPod("x/a")->node, "node-2");
  EXPECT_THAT(Probe(80), ElementsAre("x/a -> x/a", "x/a -> x/b", "x/b -> x/a", "x/b -> x/b"));
}

TEST_F(LabApplyTest, Ipv6PodsTalkOverIpv6) {
  Apply(PodYaml("x", "dual", "{pod: dual}", "node-1", {"10.10.1.44", "fd00:10:1::44"}) +
        PodYaml("x", "six", "{pod: six}", "node-2", {"fd00:10:1::45"}));
  absl::StatusOr<std::vector<ProbeResult>> results =
      LabProbe(lab_name_, {80, Protocol::kTcp, false, kTimeout});
  FW_ASSERT_OK(results);
  int checked = 0;
  for (const ProbeResult& result : *results) {
    const std::string pair = result.reachability.from + " -> " + result.reachability.to;
    SCOPED_TRACE(pair);
    if (pair == "x/dual -> x/six") {
      EXPECT_EQ(result.address, "[fd00:10:1::45]:80");
      EXPECT_TRUE(result.reachability.allowed) << ProbeOutcomeName(result.outcome);
      ++checked;
    } else if (pair == "x/six -> x/dual") {
      EXPECT_EQ(result.address, "[fd00:10:1::44]:80");
      EXPECT_TRUE(result.reachability.allowed) << ProbeOutcomeName(result.outcome);
      ++checked;
    } else if (pair == "x/a -> x/six") {
      EXPECT_EQ(result.outcome, ProbeOutcome::kNoAddress);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3);
}

TEST_F(LabApplyTest, ApplyToALabThatIsNotUpFails) {
  ApplyOptions options;
  options.name = "nosuchlab";
  options.files = {temp_.Write("pod.yaml", PodYaml("x", "c", "{}", "", {}))};
  EXPECT_THAT(LabApply(options), flatwall::testing::StatusIs(absl::StatusCode::kNotFound,
                                                             HasSubstr("flatwall lab up")));
}

}  // namespace
}  // namespace flatwall::lab
