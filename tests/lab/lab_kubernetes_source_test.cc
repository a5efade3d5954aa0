// End to end with the Kubernetes API source: a real 2-node lab whose agents run with
// `--source kubernetes --kubeconfig FILE` against the fake API server
// (tests/api-watch/testing/fake_kube_api.h) listening inside the lab's fabric namespace
// (the VPC router, 10.10.0.1), which the node namespaces reach over the underlay. Objects
// created, changed and deleted on the fake API change what real TCP connections between
// pod namespaces can do.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/lab/agent_launcher.h"
#include "agent/lab/lab.h"
#include "gtest/gtest.h"
#include "tests/api-watch/testing/fake_kube_api.h"
#include "tests/lab/agent_lab_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

using ::flatwall::apiwatch::testing::FakeKubeApi;
using ::flatwall::apiwatch::testing::FakeKubeApiOptions;

// Pods with fixed addresses on fixed nodes, so the fake API and the lab agree on them
// without the lab allocating: x/a on node-1, y/b on node-2, z/c on node-1.
std::string Cluster() {
  return absl::StrCat(R"(apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: 'y', labels: {ns: 'y'}}
---
apiVersion: v1
kind: Namespace
metadata: {name: z, labels: {ns: z}}
---
)",
                      PodYaml("x", "a", "{app: a}", "node-1", {"10.10.1.10"}),
                      PodYaml("y", "b", "{app: b}", "node-2", {"10.10.1.20"}),
                      PodYaml("z", "c", "{app: c}", "node-1", {"10.10.1.30"}));
}

class LabKubernetesSourceTest : public AgentLabTest {
 protected:
  // The lab without its own agents; then the fake API in the fabric namespace, holding the
  // same cluster; then one agent per node reading it.
  void SetUp() override {
    RealLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    UpOptions options;
    options.name = lab_name_;
    options.flatwall_binary = FlatwallBinary();
    options.agents = false;
    options.files = {temp_.Write("cluster.yaml", Cluster())};
    absl::StatusOr<TopologyPlan> plan = LabUp(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *plan;

    FakeKubeApiOptions api_options;
    api_options.server = {.address = "10.10.0.1", .netns = plan_.fabric_netns};
    fake_ = std::make_unique<FakeKubeApi>(api_options);
    FW_ASSERT_OK(fake_->UpsertManifests(Cluster()));
    const std::string kubeconfig = temp_.Write("kubeconfig", absl::StrCat(R"(apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: ")", fake_->url(), R"("}}]
users: [{name: agent, user: {token: lab-token}}]
contexts: [{name: lab, context: {cluster: lab, user: agent}}]
current-context: lab
)"));
    absl::StatusOr<std::string> agent = DefaultAgentPath(FlatwallBinary());
    ASSERT_TRUE(agent.ok()) << agent.status();
    AgentLauncher launcher(LabNames(lab_name_), *agent, kubeconfig);
    for (const NodePlan& node : plan_.nodes) FW_ASSERT_OK(launcher.Start(node));
  }

  void TearDown() override {
    fake_.reset();  // its sockets live in the fabric namespace
    AgentLabTest::TearDown();
  }

  // Waits until a connection from `from` to `to` on port 80 succeeds (`allowed`) or fails.
  bool Becomes(bool allowed, const std::string& from, const std::string& to) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Connects(from, to, 80, std::chrono::milliseconds(300)) == allowed) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::unique_ptr<FakeKubeApi> fake_;
};

TEST_F(LabKubernetesSourceTest, ObjectsWrittenOnTheApiServerChangeRealEnforcement) {
  // No policy: everything connects, across nodes and on one node.
  EXPECT_TRUE(Connects("y/b", "x/a", 80));
  EXPECT_TRUE(Connects("z/c", "x/a", 80));

  // Created: x accepts only namespace y.
  FW_ASSERT_OK(fake_->UpsertManifests(kOnlyFromYPolicy));
  EXPECT_TRUE(Becomes(false, "z/c", "x/a"));
  EXPECT_TRUE(Connects("y/b", "x/a", 80));

  // Changed: namespace z takes the label the policy admits.
  FW_ASSERT_OK(fake_->UpsertManifests("apiVersion: v1\nkind: Namespace\n"
                                      "metadata: {name: z, labels: {ns: 'y'}}\n"));
  EXPECT_TRUE(Becomes(true, "z/c", "x/a"));

  // Changed: y loses it.
  FW_ASSERT_OK(fake_->UpsertManifests("apiVersion: v1\nkind: Namespace\n"
                                      "metadata: {name: 'y', labels: {ns: other}}\n"));
  EXPECT_TRUE(Becomes(false, "y/b", "x/a"));

  // Deleted: the policy goes, x is open again.
  FW_ASSERT_OK(fake_->Delete("NetworkPolicy", "x", "only-from-y").status());
  EXPECT_TRUE(Becomes(true, "y/b", "x/a"));
  EXPECT_TRUE(Connects("z/c", "x/a", 80));
}

}  // namespace
}  // namespace flatwall::lab
