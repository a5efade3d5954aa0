// The real flatwall-agent in a real 2-node lab: started in its node's namespace with its
// own paths, enforcing and logging; what happens when it is stopped, killed, restarted or
// uninstalled; pods that come and go, a veth that appears late, a bad manifest. Needs root.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/lab/agent_http.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"
#include "agent/lab/run_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lab/agent_lab_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The arguments a process was started with, joined by spaces.
std::string CommandLineOf(pid_t pid) {
  std::string raw = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  std::vector<std::string> args = absl::StrSplit(raw, '\0', absl::SkipEmpty());
  return absl::StrJoin(args.begin() + 1, args.end(), " ");
}

// The Flatwall programs attached to a tc hook of `device` in `netns`: `tc filter show`'s
// lines naming them.
std::string TcFilters(const std::string& netns, const std::string& device, const char* hook) {
  absl::StatusOr<std::string> shown =
      RunCommand(InNetns(netns, {"tc", "filter", "show", "dev", device, hook}));
  return shown.ok() ? *shown : absl::StrCat("error: ", shown.status().message());
}

class LabAgentsTest : public AgentLabTest {
 protected:
  // `flatwall-agent --uninstall` in the node's namespace, for its pin root.
  absl::Status UninstallAgent(const NodePlan& node) {
    absl::StatusOr<LabState> state = LabStatus(lab_name_);
    if (!state.ok()) return state.status();
    if (!state->agent) return absl::FailedPreconditionError("the lab runs no agent");
    return RunCommand(InNetns(node.netns, {*state->agent, "--uninstall", "--bpffs-root",
                                           LabNames(lab_name_).BpffsRoot(node.name)}))
        .status();
  }

  void ExpectNoFlatwallFilters(const std::string& pod_key) {
    const PodPlan& pod = Pod(pod_key);
    for (const char* hook : {"ingress", "egress"}) {
      EXPECT_THAT(TcFilters(NodeOf(pod_key).netns, pod.host_veth, hook),
                  ::testing::Not(HasSubstr("fw_")))
          << hook;
    }
  }
};

TEST_F(LabAgentsTest, EachNodeRunsItsAgentInItsNamespaceWithItsOwnPaths) {
  LabNames names(lab_name_);
  AgentLauncher launcher = Launcher();
  for (const NodePlan& node : plan().nodes) {
    SCOPED_TRACE(node.name);
    std::optional<pid_t> pid = launcher.Pid(node);
    ASSERT_TRUE(pid.has_value());
    EXPECT_EQ(CommandLineOf(*pid),
              absl::StrCat("--node-name ", node.name, " --source dir:",
                           names.NodeManifestDir(node.name), " --bpffs-root /sys/fs/bpf/flatwall-lab-",
                           lab_name_, "-", node.name, " --verdict-log ", names.NodeDir(node.name),
                           "/verdicts.jsonl --listen 127.0.0.1:", kAgentListenPort));
    EXPECT_TRUE(ProcessInNetns(*pid, node.netns));
    EXPECT_TRUE(fs::exists(absl::StrCat(names.BpffsRoot(node.name), "/fw_from_pod_v1")));
    EXPECT_THAT(AgentGet(node.name, "/readyz"), StartsWith("200"));
    EXPECT_THAT(AgentGet(node.name, "/healthz"), StartsWith("200"));
    std::string metrics = AgentGet(node.name, "/metrics");
    EXPECT_THAT(metrics, HasSubstr("flatwall_veths{state=\"attached\"}"));
    // The e2e pods alternate between the nodes: 5 on node-1, 4 on node-2.
    EXPECT_EQ(MetricValue(metrics.substr(4), "flatwall_veths"), node.name == "node-1" ? 5 : 4)
        << metrics;
  }
  // Each local pod's host veth carries both programs.
  const PodPlan& pod = Pod("x/a");
  EXPECT_THAT(TcFilters(NodeOf("x/a").netns, pod.host_veth, "ingress"), HasSubstr("fw_from_pod"));
  EXPECT_THAT(TcFilters(NodeOf("x/a").netns, pod.host_veth, "egress"), HasSubstr("fw_to_pod"));
}

TEST_F(LabAgentsTest, DeniedFlowIsEnforcedAndLoggedWithTheIsolatingPolicy) {
  EXPECT_TRUE(Connects("z/a", "x/a", 80));
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  EXPECT_FALSE(Connects("z/a", "x/a", 80));
  EXPECT_TRUE(Connects("y/a", "x/a", 80));
  LabNames names(lab_name_);
  std::string log;
  for (int attempt = 0; attempt < 50; ++attempt) {
    log = ReadFile(absl::StrCat(names.NodeDir(Pod("x/a").node), "/verdicts.jsonl"));
    if (log.find("only-from-y") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bool found = false;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record["verdict"] != "deny" || record["dst"].value("name", "") != "a" ||
        record["dst"].value("namespace", "") != "x" || record["src"].value("namespace", "") != "z") {
      continue;
    }
    found = true;
    EXPECT_EQ(record["reason"], "DEFAULT_DENY");
    EXPECT_EQ(record["direction"], "ingress");
    EXPECT_EQ(record["protocol"], "TCP");
    EXPECT_EQ(record["dst"]["port"], 80);
    EXPECT_EQ(record["node"], Pod("x/a").node);
    // Schema 3: isolating policies are objects, with the generation the agent compiled.
    bool isolated_by_policy = false;
    for (const nlohmann::json& policy : record["isolated_by"]) {
      isolated_by_policy = isolated_by_policy || (policy.value("namespace", "") == "x" &&
                                                  policy.value("name", "") == "only-from-y" &&
                                                  policy.contains("generation"));
    }
    EXPECT_TRUE(isolated_by_policy) << record["isolated_by"].dump();
    EXPECT_EQ(record["src"]["labels"]["pod"], "a");
  }
  EXPECT_TRUE(found) << log;
  // The real agent's log is one intact hash chain (docs/verdict-log.md).
  absl::StatusOr<std::string> verified = RunCommand(
      {FLATWALL_BINARY, "logs", "verify",
       absl::StrCat(names.NodeDir(Pod("x/a").node), "/verdicts.jsonl")});
  FW_EXPECT_OK(verified);
  EXPECT_THAT(verified.value_or(""), HasSubstr("chain intact"));
}

TEST_F(LabAgentsTest, StoppedAgentLeavesPinsAndEnforcementAndStartsAgain) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  AgentLauncher launcher = Launcher();
  for (const NodePlan& node : plan().nodes) FW_ASSERT_OK(launcher.Stop(node));
  for (const NodePlan& node : plan().nodes) {
    EXPECT_EQ(launcher.Pid(node), std::nullopt);
    EXPECT_TRUE(fs::exists(absl::StrCat(LabNames(lab_name_).BpffsRoot(node.name), "/fw_rules_v2")));
  }
  EXPECT_FALSE(Connects("z/a", "x/a", 80));
  EXPECT_TRUE(Connects("y/a", "x/a", 80));
  StartAgents();
  EXPECT_THAT(MismatchesWithModel(80), ::testing::IsEmpty());
}

TEST_F(LabAgentsTest, UninstallRemovesProgramsAndPinsSoTrafficFlowsFreely) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  for (const NodePlan& node : plan().nodes) {
    FW_ASSERT_OK(Launcher().Stop(node));
    FW_ASSERT_OK(UninstallAgent(node));
    EXPECT_FALSE(fs::exists(LabNames(lab_name_).BpffsRoot(node.name)));
  }
  ExpectNoFlatwallFilters("x/a");
  EXPECT_TRUE(Connects("z/a", "x/a", 80));
}

TEST_F(LabAgentsTest, UninstallDetachesProgramsWhosePinsAreAlreadyGone) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  const NodePlan& node = NodeOf("x/a");
  FW_ASSERT_OK(Launcher().Stop(node));
  fs::remove_all(LabNames(lab_name_).BpffsRoot(node.name));
  // The attached filters hold the programs, so enforcement outlives the pins.
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  FW_ASSERT_OK(UninstallAgent(node));
  ExpectNoFlatwallFilters("x/a");
  EXPECT_TRUE(Connects("z/a", "x/a", 80));
}

TEST_F(LabAgentsTest, PodsAddedAndRemovedAreAttachedAndDetached) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  Apply("pod-x-d.yaml", PodYaml("x", "d", "{pod: d}", "node-1", {"10.10.1.14"}));
  EXPECT_FALSE(Connects("z/a", "x/d", 80));
  EXPECT_TRUE(Connects("y/b", "x/d", 80));
  EXPECT_THAT(AgentGet("node-1", "/metrics"), HasSubstr("flatwall_veths{state=\"attached\"} 6"));
  Delete("pod-x-d.yaml");
  EXPECT_THAT(AgentGet("node-1", "/metrics"), HasSubstr("flatwall_veths{state=\"attached\"} 5"));
  EXPECT_THAT(MismatchesWithModel(80), ::testing::IsEmpty());
}

TEST_F(LabAgentsTest, PodWhoseAddressTheLabAllocatedIsEnforcedToo) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  // No IP in the manifest: the lab allocates one, as a CNI would, and tells the agents.
  Apply("pod-x-d.yaml", PodYaml("x", "d", "{pod: d}", "node-2", {}));
  ASSERT_TRUE(Pod("x/d").ipv4_allocated);
  EXPECT_FALSE(Connects("z/a", "x/d", 80));
  EXPECT_TRUE(Connects("y/a", "x/d", 80));
  EXPECT_THAT(MismatchesWithModel(80), ::testing::IsEmpty());
}

TEST_F(LabAgentsTest, VethThatAppearsLateIsAttachedWhenItsRouteDoes) {
  // A pod the agent hears of before its CNI has plumbed it: isolated, with no veth yet.
  WriteToAgents("late.yaml", absl::StrCat(PodYaml("x", "late", "{pod: late}", "node-1",
                                                  {"10.10.1.60"}),
                                          "---\n", kOnlyFromYPolicy));
  WaitForAgents();
  EXPECT_THAT(AgentGet("node-1", "/metrics"), HasSubstr("flatwall_veths{state=\"waiting\"} 1"));
  const NodePlan& node = plan().nodes.front();
  FW_ASSERT_OK(RunIpBatch(node.netns, {"link add fwlate type veth peer name fwlate-peer",
                                       "link set fwlate up", "link set fwlate-peer up",
                                       "route add 10.10.1.60/32 dev fwlate scope link"}));
  std::string ingress;
  for (int attempt = 0; attempt < 100; ++attempt) {
    ingress = TcFilters(node.netns, "fwlate", "ingress");
    if (ingress.find("fw_from_pod") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(ingress, HasSubstr("fw_from_pod"));
  EXPECT_THAT(TcFilters(node.netns, "fwlate", "egress"), HasSubstr("fw_to_pod"));
  EXPECT_THAT(AgentGet("node-1", "/metrics"), HasSubstr("flatwall_veths{state=\"waiting\"} 0"));
}

TEST_F(LabAgentsTest, InvalidManifestKeepsWhatTheFileHeldEnforced) {
  WriteToAgents("policy.yaml", kOnlyFromYPolicy);
  WaitForAgents();
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  // The same policy, now with an invalid port: the agents keep the last good version.
  WriteToAgents("policy.yaml", absl::StrCat(kOnlyFromYPolicy, "    ports: [{port: 70000}]\n"));
  WaitForAgents();
  EXPECT_FALSE(Connects("z/a", "x/a", 80));
  EXPECT_TRUE(Connects("y/a", "x/a", 80));
  for (const NodePlan& node : plan().nodes) {
    EXPECT_THAT(AgentGet(node.name, "/readyz"), StartsWith("200"));
    std::string metrics = AgentGet(node.name, "/metrics");
    std::optional<double> errors = MetricValue(metrics.substr(4), "flatwall_source_errors_total");
    EXPECT_GE(errors.value_or(0), 1) << metrics;
  }
  std::string log = ReadFile(absl::StrCat(LabNames(lab_name_).NodeDir("node-1"), "/agent.log"));
  EXPECT_THAT(log, HasSubstr("policy.yaml:"));
  // Removing the file removes its objects: z reaches x again.
  RemoveFromAgents("policy.yaml");
  WaitForAgents();
  EXPECT_TRUE(Connects("z/a", "x/a", 80));
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
