// The real `flatwall-agent` binary with `--source kubernetes --kubeconfig FILE` against the
// fake Kubernetes API (tests/api-watch/testing/fake_kube_api.h), served inside the agent's
// network namespace: the first state is enforced only once everything listed, objects
// written on the server change the pinned maps, an API outage keeps enforcement and makes
// /readyz say why, SIGTERM stops promptly with watches open.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process_fixture.h"
#include "tests/api-watch/testing/fake_kube_api.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::apiwatch::testing::FakeKubeApi;
using ::flatwall::apiwatch::testing::FakeKubeApiOptions;
using ::testing::HasSubstr;

class AgentKubernetesTest : public AgentProcessTest {
 protected:
  void SetUp() override {
    AgentProcessTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    FakeKubeApiOptions options;
    options.server = {.address = "127.0.0.1", .netns = netns_};
    fake_ = std::make_unique<FakeKubeApi>(options);
    FW_ASSERT_OK(fake_->UpsertManifests(kCluster));
    kubeconfig_ = dir_ + "/kubeconfig";
    std::ofstream(kubeconfig_) << absl::StrCat(R"(apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: ")", fake_->url(), R"("}
users:
- name: agent
  user: {token: test-token}
contexts:
- name: fake
  context: {cluster: fake, user: agent}
current-context: fake
)");
  }

  void TearDown() override {
    fake_.reset();
    AgentProcessTest::TearDown();
  }

  std::vector<std::string> KubernetesFlags() const {
    return {"--node-name",  "node-1",   "--source", "kubernetes",
            "--kubeconfig", kubeconfig_, "--bpffs-root", pin_root_,
            "--listen",     absl::StrCat("127.0.0.1:", port_), "--verdict-log", "off"};
  }

  // Waits until /readyz answers `status` with a body containing `text`; that body.
  std::string WaitForReadyz(int status, const std::string& text) {
    lab::HttpReply reply;
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      reply = Get("/readyz");
      if (reply.status == status && reply.body.find(text) != std::string::npos) return reply.body;
      std::this_thread::sleep_for(kPollInterval);
    }
    ADD_FAILURE() << "/readyz never said " << status << " \"" << text << "\"; last: "
                  << reply.status << " " << reply.body << "\nagent log:\n" << Log();
    return reply.body;
  }

  // Waits until /metrics holds `line` (the loop updates the API counters after it writes).
  void WaitForMetric(const std::string& line) {
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Get("/metrics").body.find(line) != std::string::npos) return;
      std::this_thread::sleep_for(kPollInterval);
    }
    ADD_FAILURE() << "/metrics never held " << line;
  }

  std::unique_ptr<FakeKubeApi> fake_;
  std::string kubeconfig_;
};

TEST_F(AgentKubernetesTest, FirstStateWaitsForEveryListThenServerChangesAreEnforced) {
  // The policies' list fails until the test has seen the agent waiting (however slowly a
  // loaded machine starts it): the agent must not enforce pods without them.
  fake_->FailNext("/apis/networking.k8s.io/v1/networkpolicies", 503, "", 1000);
  ASSERT_GT(Spawn(KubernetesFlags()), 0);
  WaitForReadyz(503, "waiting for first sync: source: list networkpolicies: UNAVAILABLE");
  std::optional<std::vector<compiler::IpAddress>> early = PinnedEndpoints();
  EXPECT_TRUE(!early || early->empty());
  fake_->ClearFailures();

  WaitForReadyz(200, "ok");
  EXPECT_EQ(PinnedEndpoints(), (std::vector{Ip("10.60.0.1"), Ip("10.60.0.2")}));

  FW_ASSERT_OK(fake_->UpsertManifests(kLatePod));
  EXPECT_TRUE(WaitForEndpoints({Ip("10.60.0.1"), Ip("10.60.0.2"), Ip("10.60.0.3")}));
  FW_ASSERT_OK(fake_->Delete("Pod", "x", "a"));
  EXPECT_TRUE(WaitForEndpoints({Ip("10.60.0.2"), Ip("10.60.0.3")}));

  WaitForMetric("flatwall_apiwatch_events_total{resource=\"pods\"} 5\n");
  const std::string metrics = Get("/metrics").body;
  for (const char* family :
       {"flatwall_apiwatch_lists_total{resource=\"pods\"} 1\n",
        "flatwall_apiwatch_events_total{resource=\"pods\"} 5\n",  // 3 listed, 1 added, 1 deleted
        "flatwall_apiwatch_last_success_timestamp_seconds{resource=\"namespaces\"}"}) {
    EXPECT_THAT(metrics, HasSubstr(family));
  }
  const char kPolicyFailures[] = "flatwall_apiwatch_failures_total{resource=\"networkpolicies\"}";
  EXPECT_GE(lab::MetricValue(metrics, kPolicyFailures).value_or(0), 1);
}

TEST_F(AgentKubernetesTest, ApiOutageKeepsEnforcementAndReadyzSaysWhyUntilItIsBack) {
  ASSERT_GT(StartReady(KubernetesFlags()), 0);
  ASSERT_TRUE(fake_->WaitForOpenWatches(4, absl::Seconds(20)));
  const std::vector<compiler::IpAddress> enforced = {Ip("10.60.0.1"), Ip("10.60.0.2")};
  ASSERT_EQ(PinnedEndpoints(), enforced);

  fake_->FailNext("/api/v1/pods", 503, "", 1);
  fake_->DropWatches();
  std::string reason = WaitForReadyz(503, "source: watch pods: ");
  EXPECT_THAT(reason, HasSubstr("; enforcing the state of 20"));
  EXPECT_EQ(Get("/healthz").status, 200);  // an API outage must not restart the agent
  EXPECT_EQ(PinnedEndpoints(), enforced);

  WaitForReadyz(200, "ok");
  EXPECT_EQ(PinnedEndpoints(), enforced);  // nothing was flushed or rewritten
  EXPECT_GT(lab::MetricValue(Get("/metrics").body, "flatwall_source_errors_total").value_or(0), 0);
}

TEST_F(AgentKubernetesTest, SigtermStopsPromptlyWithWatchesOpen) {
  pid_t agent = StartReady(KubernetesFlags());
  ASSERT_GT(agent, 0);
  ASSERT_TRUE(fake_->WaitForOpenWatches(4, absl::Seconds(20)));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Terminate(agent), 0) << Log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(AgentKubernetesTest, UnreadableKubeconfigExitsOneNamingIt) {
  const std::string missing = dir_ + "/no-such-kubeconfig";
  std::vector<std::string> args = KubernetesFlags();
  args[5] = missing;
  Exit exit = RunToExit(args);
  EXPECT_EQ(exit.code, 1);
  EXPECT_THAT(exit.output, HasSubstr(missing));
}

}  // namespace
}  // namespace flatwall::agent::testing
