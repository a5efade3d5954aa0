// `flatwall status` against a real datapath: loaded under a private pin root, tables
// written with MapWriter, conntrack entries planted, programs attached to a pod veth and
// an uplink in a namespace made here; the built binary runs inside that namespace and its
// text and JSON figures are checked. Skips without root.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "agent/host_routes.h"
#include "agent/map_writer.h"
#include "agent/veth_attachments.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/agent/kernel_test_fixture.h"
#include "policy-compiler/status_macros.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, got);
  close(fd);
  return text;
}

// Runs argv with stdout and stderr captured (stderr is small: read after stdout).
Result RunCaptured(std::vector<std::string> argv_text) {
  int out[2], err[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  Result result;
  result.out = ReadAll(out[0]);
  result.err = ReadAll(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

compiler::RuleEntry Rule(uint32_t ruleset, uint16_t port, uint32_t prefixlen, uint32_t rule_id) {
  compiler::RuleEntry entry{};
  entry.key.prefixlen = prefixlen;
  entry.key.ruleset = ruleset;
  entry.key.direction = FW_DIR_INGRESS;
  entry.key.remote_kind = FW_REMOTE_IDENTITY;
  entry.key.remote = 301;
  entry.key.protocol = IPPROTO_TCP;
  entry.key.port = htons(port);
  entry.value.rule_id = rule_id;
  entry.value.action = FW_ACTION_ALLOW;
  return entry;
}

class StatusTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    root_ = absl::StrCat("/sys/fs/bpf/fwt-status-", getpid());
    absl::StatusOr<std::unique_ptr<Datapath>> loaded = Datapath::Load({root_});
    FW_ASSERT_OK(loaded);
    datapath_ = std::move(*loaded);  // uninstalled by KernelTest::TearDown
    node_ = MakeNetns("status");
    pod_ = MakeNetns("statuspod");
    FW_ASSERT_OK(lab::RunIpBatch(
        node_, {"link set lo up", "link add up0 type veth peer name up0p", "link set up0 up",
                absl::StrCat("link add vh1 type veth peer name p1 netns ", pod_),
                absl::StrCat("link add vh2 type veth peer name p2 netns ", pod_),
                "link set vh1 up", "link set vh2 up", "route add 10.40.0.1/32 dev vh1",
                "route add 10.40.0.2/32 dev vh2", "route add default dev up0"}));
  }

  // Two endpoints, three identities, four rule entries (one of them a range piece), and
  // two conntrack entries.
  void WriteState() {
    compiler::MapDiff diff;
    for (const char* ip : {"10.40.0.1", "10.40.0.2"}) {
      compiler::EndpointEntry endpoint{};
      endpoint.key.addr = compiler::ToAbi(Ip(ip));
      endpoint.value.identity = 300;
      endpoint.value.ruleset = 7;
      endpoint.value.flags = FW_EP_ISOLATED_INGRESS;
      endpoint.value.rule_kinds[FW_DIR_INGRESS] = FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_EXACT_PORT;
      diff.endpoints.upserts.push_back(endpoint);
    }
    for (const auto& [ip, identity] :
         std::vector<std::pair<const char*, uint32_t>>{{"10.40.0.1", 300}, {"10.40.0.2", 300},
                                                       {"10.40.1.1", 301}, {"10.40.1.2", 302}}) {
      compiler::IpcacheEntry entry{};
      entry.key.addr = compiler::ToAbi(Ip(ip));
      entry.value.identity = identity;
      diff.ipcache.upserts.push_back(entry);
    }
    diff.rules.upserts = {Rule(7, 80, FW_RULE_KEY_BITS, 11), Rule(7, 443, FW_RULE_KEY_BITS, 12),
                          Rule(7, 8080, FW_RULE_KEY_BITS - 3, 13),
                          Rule(7, 0, FW_RULE_BITS_ANY_PORT, 14)};
    FW_ASSERT_OK(MapWriter(*datapath_).Apply(diff));
    // One live UDP flow and one idle past the UDP lifetime.
    timespec now{};
    ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC_COARSE, &now), 0);
    const uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
    ASSERT_GT(now_ns, FW_CT_LIFETIME_UDP_NS + 1000000000ull) << "machine up for minutes";
    for (uint16_t port : {1000, 1001}) {
      fw_ct_key key{};
      key.local = compiler::ToAbi(Ip("10.40.0.1"));
      key.remote = compiler::ToAbi(Ip("10.40.1.1"));
      key.local_port = htons(80);
      key.remote_port = htons(port);
      key.protocol = IPPROTO_UDP;
      fw_ct_value value{};
      value.last_seen_ns = port == 1000 ? now_ns : now_ns - FW_CT_LIFETIME_UDP_NS - 1000000000ull;
      ASSERT_EQ(bpf_map_update_elem(datapath_->map_fd(DatapathMap::kConntrack), &key, &value,
                                    BPF_ANY),
                0);
    }
  }

  // Attaches the pod programs to vh1 only (its pod is the one listed) and the uplink's.
  void Attach() {
    VethAttachments attachments(*datapath_);
    FW_ASSERT_OK(lab::RunInNetns(node_, [&]() -> absl::Status {
      FW_ASSIGN_OR_RETURN(HostRoutes routes, HostRouteInterfaces());
      FW_ASSIGN_OR_RETURN(AttachReport report,
                          attachments.Reconcile({{"x/a", {Ip("10.40.0.1")}}}, routes));
      if (report.attached.size() != 1) return absl::InternalError("x/a not attached");
      return attachments.AttachUplink(static_cast<int>(if_nametoindex("up0")));
    }));
  }

  Result Status(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {FLATWALL_BINARY, "status"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCaptured(lab::InNetns(node_, argv));
  }

  std::string root_;
  std::string node_;
  std::string pod_;
};

TEST_F(StatusTest, JsonReportsGenerationFillLevelsEndpointsAndAttachState) {
  WriteState();
  Attach();
  absl::StatusOr<fw_config> config = datapath_->ReadConfig();
  FW_ASSERT_OK(config);
  const Result result = Status({"--bpffs-root", root_, "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json status = json::parse(result.out);
  EXPECT_EQ(status["generation"], config->generation);
  EXPECT_EQ(status["maps"]["fw_endpoints_v2"]["entries"], 2);
  EXPECT_EQ(status["maps"]["fw_endpoints_v2"]["capacity"], FW_MAX_ENDPOINTS);
  EXPECT_EQ(status["maps"]["fw_ipcache_v1"]["entries"], 4);
  EXPECT_EQ(status["maps"]["fw_rules_v2"]["entries"], 3);
  EXPECT_EQ(status["maps"]["fw_ranges_v1"]["entries"], 1);
  EXPECT_TRUE(status["maps"]["fw_config_v1"]["entries"].is_null());  // an array
  EXPECT_EQ(status["endpoint_count"], 2);
  ASSERT_EQ(status["endpoints"].size(), 2u);
  EXPECT_EQ(status["endpoints"][0]["ip"], "10.40.0.1");
  EXPECT_EQ(status["endpoints"][0]["identity"], 300);
  EXPECT_EQ(status["endpoints"][0]["ruleset"], 7);
  EXPECT_EQ(status["endpoints"][0]["isolated"], "ingress");
  EXPECT_EQ(status["endpoints"][0]["rule_kinds"]["ingress"], "identity/port");
  EXPECT_EQ(status["endpoints"][0]["rule_kinds"]["egress"], "none");
  EXPECT_EQ(status["identities"], 3);
  EXPECT_EQ(status["rule_entries"], 4);
  EXPECT_EQ(status["conntrack_entries"], 2);
  EXPECT_EQ(status["conntrack_expired"], 1);
  ASSERT_EQ(status["veths"].size(), 2u);
  EXPECT_EQ(status["veths"][0]["name"], "vh1");
  EXPECT_EQ(status["veths"][0]["ifindex"], Ifindex(node_, "vh1"));
  EXPECT_EQ(status["veths"][0]["routes"], json::array({"10.40.0.1"}));
  EXPECT_EQ(status["veths"][0]["from_pod"], true);
  EXPECT_EQ(status["veths"][0]["to_pod"], true);
  EXPECT_EQ(status["veths"][1]["name"], "vh2");
  EXPECT_EQ(status["veths"][1]["from_pod"], false);
  EXPECT_EQ(status["veths"][1]["to_pod"], false);
  EXPECT_EQ(status["uplink"]["name"], "up0");
  EXPECT_EQ(status["uplink"]["attached"], true);
}

TEST_F(StatusTest, TextListsTheSameFigures) {
  WriteState();
  Attach();
  const Result result = Status({"--bpffs-root", root_});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("fw_endpoints_v2  2/4096\n"));
  EXPECT_THAT(result.out, HasSubstr("fw_config_v1     -/1\n"));
  EXPECT_THAT(result.out, HasSubstr("endpoints: 2\n  10.40.0.1 identity 0x0000012c ruleset "
                                    "0x00000007 isolated ingress rules ingress:identity/port "
                                    "egress:none\n"));
  EXPECT_THAT(result.out, HasSubstr("identities: 3\nrule entries: 4\n"
                                    "conntrack entries: 2 (1 live, 1 expired)\n"));
  EXPECT_THAT(result.out, HasSubstr(absl::StrCat("  vh1 ifindex ", Ifindex(node_, "vh1"),
                                                 " routes 10.40.0.1 from-pod yes to-pod yes\n")));
  EXPECT_THAT(result.out, HasSubstr(" routes 10.40.0.2 from-pod no to-pod no\n"));
  EXPECT_THAT(result.out, HasSubstr("uplink: up0 ifindex "));
  EXPECT_THAT(result.out, HasSubstr(" attached yes\n"));
}

// Off (the agent's default): one line says so and how to turn them on; JSON says false.
TEST_F(StatusTest, PerFlowCountersOffSaysSoAndNamesTheAgentFlag) {
  const Result text = Status({"--bpffs-root", root_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out,
              HasSubstr("conntrack entries: 0 (0 live, 0 expired)\n"
                        "per-flow counters: off (flatwall-agent --conntrack-accounting)\n"));
  const Result result = Status({"--bpffs-root", root_, "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out)["conntrack_accounting"], false);
}

TEST_F(StatusTest, PerFlowCountersOnWhenTheNodesConfigHasTheFlag) {
  absl::StatusOr<fw_config> config = datapath_->ReadConfig();
  FW_ASSERT_OK(config);
  config->flags |= FW_CFG_CT_ACCOUNTING;
  FW_ASSERT_OK(datapath_->WriteConfig(*config));
  const Result text = Status({"--bpffs-root", root_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("expired)\nper-flow counters: on\n"));
  const Result result = Status({"--bpffs-root", root_, "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out)["conntrack_accounting"], true);
}

TEST_F(StatusTest, EmptyPinRootExitsOneNamingTheDirectory) {
  const std::string empty = absl::StrCat("/sys/fs/bpf/fwt-status-empty-", getpid());
  ASSERT_EQ(mkdir(empty.c_str(), 0700), 0);
  const Result result = Status({"--bpffs-root", empty});
  rmdir(empty.c_str());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat("no Flatwall state under ", empty,
                                                 ": is the agent running?")));
}

TEST_F(StatusTest, UnknownOptionIsAUsageError) {
  const Result result = Status({"--root", root_});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("usage: flatwall status"));
}

}  // namespace
}  // namespace flatwall::agent::testing
