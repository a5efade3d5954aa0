// The real `flatwall-agent` binary as a process with the directory source
// (agent_process_fixture.h runs it): exit codes and messages, /readyz and /metrics over
// HTTP, the pinned maps.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "abi/datapath_maps.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/lab/run_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process_fixture.h"

namespace flatwall::agent::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(AgentProcessTest, BadFlagsExitTwoWithTheMessageAndTheUsage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--no-such-flag", "1"}, "unknown option --no-such-flag"},
      {{"--node-name"}, "--node-name needs a value"},
      {{"--source", "dir:/tmp"}, "the node name is missing"},
      {{"--node-name", "n"}, "the source is missing"},
      {{"--node-name", "n", "--source", "git:repo"}, "--source (FLATWALL_SOURCE) \"git:repo\""},
      {{"--node-name", "n", "--source", "dir:/tmp", "--listen", "9464"}, "--listen"},
      {{"--node-name", "n", "--source", "dir:/tmp", "--log-level", "loud"}, "--log-level"},
      {{"--node-name", "n", "--source", "dir:/tmp", "extra"}, "unexpected argument \"extra\""},
  };
  for (const Case& test_case : cases) {
    SCOPED_TRACE(absl::StrJoin(test_case.args, " "));
    Exit exit = RunToExit(test_case.args);
    EXPECT_EQ(exit.code, 2);
    EXPECT_THAT(exit.output, HasSubstr(test_case.message));
    EXPECT_THAT(exit.output, HasSubstr("usage: flatwall-agent"));
  }
  EXPECT_FALSE(fs::exists(pin_root_));
}

TEST_F(AgentProcessTest, HelpPrintsEveryFlagAndExitsZero) {
  Exit exit = RunToExit({"--help"});
  EXPECT_EQ(exit.code, 0);
  for (const char* flag : {"--node-name (NODE_NAME", "--source (FLATWALL_SOURCE",
                           "--bpffs-root (FLATWALL_BPFFS_ROOT", "--verdict-log (FLATWALL_VERDICT_LOG",
                           "--listen (FLATWALL_LISTEN", "--log-level (FLATWALL_LOG_LEVEL",
                           "--uplink (FLATWALL_UPLINK",
                           "--conntrack-accounting (FLATWALL_CONNTRACK_ACCOUNTING",
                           "--uninstall"}) {
    EXPECT_THAT(exit.output, HasSubstr(flag));
  }
}

TEST_F(AgentProcessTest, MissingSourceDirectoryExitsOneNamingIt) {
  const std::string missing = dir_ + "/no-such-dir";
  std::vector<std::string> args = Flags();
  args[3] = absl::StrCat("dir:", missing);
  Exit exit = RunToExit(args);
  EXPECT_EQ(exit.code, 1);
  EXPECT_THAT(exit.output, HasSubstr(missing));
  EXPECT_THAT(exit.output, Not(HasSubstr("usage:")));
}

TEST_F(AgentProcessTest, BecomesReadyAndServesEveryMetricFamily) {
  ASSERT_GT(StartReady(Flags()), 0);
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/no-such-path").status, 404);
  // Readiness comes first; the datapath and policy-state gauges follow with the first
  // sample, right after it.
  lab::HttpReply metrics;
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = Get("/metrics");
    if (lab::MetricValue(metrics.body, "flatwall_map_capacity")) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  ASSERT_EQ(metrics.status, 200);
  const std::map<std::string, std::string> families = {
      {"flatwall_endpoints", "gauge"},
      {"flatwall_identities", "gauge"},
      {"flatwall_rules", "gauge"},
      {"flatwall_map_entries", "gauge"},
      {"flatwall_map_capacity", "gauge"},
      {"flatwall_compile_seconds", "histogram"},
      {"flatwall_apply_seconds", "histogram"},
      {"flatwall_verdicts_total", "counter"},
      {"flatwall_events_suppressed_total", "counter"},
      {"flatwall_ringbuf_lost_total", "counter"},
      {"flatwall_source_errors_total", "counter"},
      {"flatwall_source_synced_timestamp_seconds", "gauge"},
      {"flatwall_veths", "gauge"},
  };
  for (const auto& [family, type] : families) {
    EXPECT_THAT(metrics.body, HasSubstr(absl::StrCat("# TYPE ", family, " ", type, "\n")));
  }
  // The first state: x/a and x/b are local, one policy rule, one ruleset per pod.
  EXPECT_EQ(lab::MetricValue(metrics.body, "flatwall_endpoints"), 2.0);
  EXPECT_EQ(lab::MetricValue(metrics.body, "flatwall_rules"), 1.0);
  EXPECT_THAT(metrics.body, HasSubstr("flatwall_map_entries{map=\"fw_endpoints_v2\"} 2\n"));
  EXPECT_THAT(metrics.body, HasSubstr("flatwall_map_capacity{map=\"fw_endpoints_v2\"} 4096\n"));
  EXPECT_EQ(lab::MetricValue(metrics.body, "flatwall_source_errors_total"), 0.0);
}

TEST_F(AgentProcessTest, ManifestChangesAreEnforcedAndABadFileKeepsItsObjects) {
  ASSERT_GT(StartReady(Flags()), 0);
  EXPECT_EQ(PinnedEndpoints(), (std::vector{Ip("10.60.0.1"), Ip("10.60.0.2")}));

  std::ofstream(manifests_ + "/late.yaml") << kLatePod;
  EXPECT_TRUE(WaitForEndpoints({Ip("10.60.0.1"), Ip("10.60.0.2"), Ip("10.60.0.3")}));

  // A broken late.yaml: its pod stays enforced, the error is counted, the agent stays
  // ready.
  std::ofstream(manifests_ + "/late.yaml") << "kind: Pod\nmetadata: [not, a, map\n";
  std::optional<double> errors;
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    errors = lab::MetricValue(Get("/metrics").body, "flatwall_source_errors_total");
    if (errors.value_or(0) > 0) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  EXPECT_GT(errors.value_or(0), 0);
  EXPECT_EQ(PinnedEndpoints(), (std::vector{Ip("10.60.0.1"), Ip("10.60.0.2"), Ip("10.60.0.3")}));
  EXPECT_EQ(Get("/readyz").status, 200);

  fs::remove(manifests_ + "/late.yaml");
  EXPECT_TRUE(WaitForEndpoints({Ip("10.60.0.1"), Ip("10.60.0.2")}));
}

// /readyz while a local pod's veth cannot be attached: 503 naming the pod while the kernel
// refuses (a u32 filter of another protocol holds Flatwall's priority), 200 again once the
// next pass attaches it. Before, x/a's veth did not exist, which is no reason to be unready.
TEST_F(AgentProcessTest, ReadyzIsUnavailableWhileALocalPodsVethFailsToAttach) {
  ASSERT_GT(StartReady(Flags()), 0);
  // Through nsenter (lab::InNetns), not `ip -n`/`tc -n`: those remount / and fail where it
  // is not a mount point (a chroot such as a fresh CI machine).
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {"link add va type veth peer name vap"}));
  FW_ASSERT_OK(lab::RunCommand(lab::InNetns(netns_, {"tc", "qdisc", "add", "dev", "va", "clsact"})));
  FW_ASSERT_OK(lab::RunCommand(lab::InNetns(
      netns_, {"tc", "filter", "add", "dev", "va", "ingress", "protocol", "ip", "prio", "1", "u32",
               "match", "u32", "0", "0"})));
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {"link set va up", "link set vap up",
                                        "route add 10.60.0.1/32 dev va"}));
  auto wait_for_readyz = [&](int status) {
    lab::HttpReply reply;
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      reply = Get("/readyz");
      if (reply.status == status) break;
      std::this_thread::sleep_for(kPollInterval);
    }
    return reply;
  };
  lab::HttpReply unready = wait_for_readyz(503);
  EXPECT_EQ(unready.status, 503) << Log();
  EXPECT_THAT(unready.body, HasSubstr("veth for pod x/a: attach failed: attach tc ingress"));

  FW_ASSERT_OK(lab::RunCommand(
      lab::InNetns(netns_, {"tc", "filter", "del", "dev", "va", "ingress", "prio", "1"})));
  EXPECT_EQ(wait_for_readyz(200).status, 200) << Log();
}

TEST_F(AgentProcessTest, SigtermExitsZeroAndASecondStartAdoptsThePins) {
  pid_t first = StartReady(Flags());
  ASSERT_GT(first, 0);
  EXPECT_EQ(Terminate(first), 0);
  // Enforcement stays: the pins and the tables they hold.
  for (const char* pin : {MapPinName(DatapathMap::kEndpoints), MapPinName(DatapathMap::kRules),
                          ProgramPinName(FW_HOOK_FROM_POD), ProgramPinName(FW_HOOK_TO_POD),
                          ProgramPinName(FW_HOOK_UPLINK)}) {
    EXPECT_TRUE(fs::exists(absl::StrCat(pin_root_, "/", pin))) << pin;
  }
  EXPECT_EQ(PinnedEndpoints(), (std::vector{Ip("10.60.0.1"), Ip("10.60.0.2")}));

  // Changed while the agent was away; the next agent adopts the pins and catches up.
  std::ofstream(manifests_ + "/late.yaml") << kLatePod;
  pid_t second = StartReady(Flags());
  ASSERT_GT(second, 0);
  EXPECT_TRUE(WaitForEndpoints({Ip("10.60.0.1"), Ip("10.60.0.2"), Ip("10.60.0.3")}));
  EXPECT_EQ(Terminate(second), 0);
  EXPECT_THAT(Log(), Not(HasSubstr(" error ")));
}

// fw_config_v1[0] as pinned under pin_root; the test fails when it cannot be read.
fw_config PinnedConfig(const std::string& pin_root) {
  fw_config config{};
  const int fd = bpf_obj_get(absl::StrCat(pin_root, "/", FW_PIN_CONFIG).c_str());
  EXPECT_GE(fd, 0) << std::strerror(errno);
  const uint32_t index = 0;
  if (fd >= 0) {
    EXPECT_EQ(bpf_map_lookup_elem(fd, &index, &config), 0) << std::strerror(errno);
    close(fd);
  }
  return config;
}

void WritePinnedConfig(const std::string& pin_root, const fw_config& config) {
  const int fd = bpf_obj_get(absl::StrCat(pin_root, "/", FW_PIN_CONFIG).c_str());
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const uint32_t index = 0;
  EXPECT_EQ(bpf_map_update_elem(fd, &index, &config, BPF_ANY), 0) << std::strerror(errno);
  close(fd);
}

// Each start sets or clears FW_CFG_CT_ACCOUNTING, also in an adopted configuration, and
// keeps the rest of it: here FW_CFG_EVENTS, as an agent killed while reading events
// leaves it.
TEST_F(AgentProcessTest, ConntrackAccountingReachesTheConfigOnEveryStartKeepingOtherFlags) {
  std::vector<std::string> with_flag = Flags();
  with_flag.push_back("--conntrack-accounting");
  pid_t first = StartReady(with_flag);
  ASSERT_GT(first, 0);
  fw_config config = PinnedConfig(pin_root_);
  EXPECT_EQ(config.flags & FW_CFG_CT_ACCOUNTING, FW_CFG_CT_ACCOUNTING);
  EXPECT_EQ(config.service_mark, FW_DEFAULT_SERVICE_MARK);
  EXPECT_EQ(Terminate(first), 0);
  config = PinnedConfig(pin_root_);
  config.flags |= FW_CFG_EVENTS;
  config.generation += 1000;  // far from what a fresh configuration reaches
  WritePinnedConfig(pin_root_, config);
  const uint32_t generation = config.generation;

  pid_t second = StartReady(Flags());  // the default: off
  ASSERT_GT(second, 0);
  config = PinnedConfig(pin_root_);
  EXPECT_EQ(config.flags, static_cast<uint32_t>(FW_CFG_EVENTS));
  EXPECT_GE(config.generation, generation);  // adopted, not reset to 1
  EXPECT_EQ(Terminate(second), 0);

  pid_t third = StartReady(Flags(), {"FLATWALL_CONNTRACK_ACCOUNTING=true"});
  ASSERT_GT(third, 0);
  EXPECT_EQ(PinnedConfig(pin_root_).flags,
            static_cast<uint32_t>(FW_CFG_EVENTS | FW_CFG_CT_ACCOUNTING));
  EXPECT_EQ(Terminate(third), 0);
}

TEST_F(AgentProcessTest, UninstallRemovesThePinRootAndIsIdempotent) {
  pid_t agent = StartReady(Flags());
  ASSERT_GT(agent, 0);
  EXPECT_EQ(Terminate(agent), 0);
  ASSERT_TRUE(fs::exists(pin_root_));

  Exit uninstall = RunToExit({"--uninstall", "--bpffs-root", pin_root_});
  EXPECT_EQ(uninstall.code, 0) << uninstall.output;
  EXPECT_FALSE(fs::exists(pin_root_));

  Exit again = RunToExit({"--uninstall", "--bpffs-root", pin_root_});
  EXPECT_EQ(again.code, 0) << again.output;
}

TEST_F(AgentProcessTest, EnvironmentVariablesStandInForFlags) {
  const std::vector<std::string> env = {
      "NODE_NAME=node-1", absl::StrCat("FLATWALL_SOURCE=dir:", manifests_),
      absl::StrCat("FLATWALL_BPFFS_ROOT=", pin_root_),
      absl::StrCat("FLATWALL_LISTEN=127.0.0.1:", port_), "FLATWALL_VERDICT_LOG=off",
      "FLATWALL_LOG_LEVEL=error"};
  pid_t agent = StartReady({}, env);
  ASSERT_GT(agent, 0);
  EXPECT_EQ(PinnedEndpoints(), (std::vector{Ip("10.60.0.1"), Ip("10.60.0.2")}));
  EXPECT_EQ(Terminate(agent), 0);
  EXPECT_THAT(Log(), Not(HasSubstr(" info ")));  // the level came from FLATWALL_LOG_LEVEL

  // A flag wins over its variable.
  Exit exit = RunToExit({"--listen", "bad"}, env);
  EXPECT_EQ(exit.code, 2);
  EXPECT_THAT(exit.output, HasSubstr("--listen (FLATWALL_LISTEN) \"bad\""));
}

}  // namespace
}  // namespace flatwall::agent::testing
