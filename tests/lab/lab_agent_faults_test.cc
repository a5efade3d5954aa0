// Faults and churn with real agents and real traffic: agents killed with SIGKILL while
// connections are open and while an update is being applied, then restarted; policies
// changed back and forth under continuous connections. Enforcement must never lapse and
// must converge on the manifests. Needs root.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/agent_lab_fixture.h"

namespace flatwall::lab {
namespace {

using ::testing::IsEmpty;

// x/* accepts namespace y on every port, and z on port 81 only.
constexpr char kYAndZOn81Policy[] = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: only-from-y}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: 'y'}}
  - from:
    - namespaceSelector: {matchLabels: {ns: z}}
    ports: [{port: 81}]
)";

// x/* accepts namespace y, and the pod z/a.
constexpr char kYAndZaPolicy[] = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: only-from-y}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: 'y'}}
    - namespaceSelector: {matchLabels: {ns: z}}
      podSelector: {matchLabels: {pod: a}}
)";

// Every pod of z isolated for ingress, nothing allowed.
constexpr char kDenyIntoZPolicy[] = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: z, name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress]
)";

// A port no pod server uses, for the test's own long-lived connections.
constexpr uint16_t kConnectionPort = 9000;

class LabAgentFaultsTest : public AgentLabTest {};

TEST_F(LabAgentFaultsTest, KilledAgentsLeaveEnforcementAndConnectionsAndCatchUpOnRestart) {
  Apply("policy.yaml", kOnlyFromYPolicy);
  std::unique_ptr<PodConnection> connection =
      PodConnection::Open(Pod("y/a"), Pod("x/a"), kConnectionPort);
  ASSERT_TRUE(connection && connection->Exchange());

  KillAgents();
  EXPECT_FALSE(Connects("z/a", "x/a", 80)) << "a denied flow got through while agents were dead";
  EXPECT_TRUE(Connects("y/b", "x/a", 80));
  EXPECT_TRUE(connection->Exchange());

  // Changed while nobody enforces changes: the old state stays in force until an agent
  // is back, then the new one.
  Apply("policy.yaml", kYAndZaPolicy);
  EXPECT_FALSE(Connects("z/a", "x/a", 80));
  StartAgents();
  EXPECT_TRUE(Connects("z/a", "x/a", 80));
  EXPECT_FALSE(Connects("z/b", "x/a", 80));
  EXPECT_TRUE(connection->Exchange()) << "an allowed connection did not survive the restart";
  EXPECT_THAT(MismatchesWithModel(80), IsEmpty());
}

TEST_F(LabAgentFaultsTest, AgentsKilledInTheMiddleOfUpdatesConvergeOnRestart) {
  std::unique_ptr<PodConnection> connection =
      PodConnection::Open(Pod("y/a"), Pod("x/a"), kConnectionPort);
  ASSERT_TRUE(connection && connection->Exchange());
  // Every version allows y -> x, so the connection must live through all of them.
  const std::string versions[] = {
      kOnlyFromYPolicy, kYAndZOn81Policy,
      absl::StrCat(kYAndZaPolicy, "---\n", kDenyIntoZPolicy)};
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    WriteToAgents("churn.yaml", versions[round % 3]);
    // SIGKILL lands at a different point of reading, compiling and writing each round.
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 2));
    KillAgents();
    StartAgents();
    WaitForAgents();
    EXPECT_TRUE(connection->Exchange());
    EXPECT_THAT(MismatchesWithModel(80), IsEmpty());
  }
}

// Probes one flow again and again on a thread of its own until stopped.
class RepeatedProbe {
 public:
  RepeatedProbe(const AgentLabTest* test, std::string from, std::string to)
      : thread_([this, test, from, to] {
          while (!stop_) {
            (Probe(test, from, to) ? allowed_ : denied_)++;
          }
        }) {}
  ~RepeatedProbe() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int allowed() const { return allowed_; }
  int denied() const { return denied_; }

 private:
  static bool Probe(const AgentLabTest* test, const std::string& from, const std::string& to);

  std::atomic<bool> stop_{false};
  std::atomic<int> allowed_{0};
  std::atomic<int> denied_{0};
  std::thread thread_;
};

bool RepeatedProbe::Probe(const AgentLabTest* test, const std::string& from,
                          const std::string& to) {
  return test->Connects(from, to, 80, std::chrono::milliseconds(300));
}

TEST_F(LabAgentFaultsTest, PolicyChurnNeverRefusesWhatBothVersionsAllowNorAdmitsWhatBothDeny) {
  Apply("policy.yaml", kOnlyFromYPolicy);
  RepeatedProbe both_allow(this, "y/a", "x/a");
  RepeatedProbe both_deny(this, "z/b", "x/b");
  RepeatedProbe changing(this, "z/a", "x/c");
  for (int round = 0; round < 10; ++round) {
    Apply("policy.yaml", round % 2 == 0 ? kYAndZaPolicy : kOnlyFromYPolicy);
    if (round % 2 == 0) {
      Apply("z.yaml", kDenyIntoZPolicy);
    } else {
      Delete("z.yaml");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  both_allow.Stop();
  both_deny.Stop();
  changing.Stop();
  EXPECT_EQ(both_allow.denied(), 0) << "of " << both_allow.allowed() + both_allow.denied();
  EXPECT_GT(both_allow.allowed(), 10);
  EXPECT_EQ(both_deny.allowed(), 0) << "of " << both_deny.allowed() + both_deny.denied();
  EXPECT_GT(both_deny.denied(), 3);
  // The flow the versions disagree on did change: the churn was real.
  EXPECT_GT(changing.allowed(), 0);
  EXPECT_GT(changing.denied(), 0);
  // And removing the policy opens x to everyone.
  Delete("policy.yaml");
  EXPECT_TRUE(Connects("z/b", "x/b", 80));
  EXPECT_THAT(MismatchesWithModel(80), IsEmpty());
}

}  // namespace
}  // namespace flatwall::lab
