// A real 2-node lab of the upstream e2e cluster with one flatwall-agent per node, and what
// the agent tests do to it: policies written the way `lab apply` writes them or straight
// into the agents' directories, agents killed and restarted, probes of one flow, and
// long-lived TCP connections between pods. Needs root (RealLabTest skips without it).
//
// Not here: the lab itself (agent/lab/); the e2e cluster (tests/testing/reachability_cluster.h).
#ifndef FLATWALL_TESTS_LAB_AGENT_LAB_FIXTURE_H_
#define FLATWALL_TESTS_LAB_AGENT_LAB_FIXTURE_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/lab/agent_launcher.h"
#include "agent/lab/lab.h"
#include "tests/lab/lab_test_util.h"

namespace flatwall::lab {

// x/* accepts only namespace y (every port): z -> x is denied, y -> x allowed.
extern const char kOnlyFromYPolicy[];

class AgentLabTest : public RealLabTest {
 public:
  // One TCP request from pod `from` to pod `to` on `port`: true when `to` answered.
  // Thread-safe (probe threads call it).
  bool Connects(const std::string& from, const std::string& to, uint16_t port,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;

 protected:
  void SetUp() override;

  const TopologyPlan& plan() const { return plan_; }
  AgentLauncher Launcher() const;
  const PodPlan& Pod(const std::string& key) const;
  const NodePlan& NodeOf(const std::string& pod_key) const;

  // `lab apply` of `yaml` saved as `file_name` (returns once both agents enforce it).
  void Apply(const std::string& file_name, const std::string& yaml);
  // `lab apply --delete` of the objects in the file Apply saved as `file_name`.
  void Delete(const std::string& file_name);
  // Writes `contents` as `file_name` into every node's manifest directory, behind the
  // lab's back (as an operator or a config-management tool would).
  void WriteToAgents(const std::string& file_name, const std::string& contents) const;
  void RemoveFromAgents(const std::string& file_name) const;
  // Waits until every running agent has enforced its directory.
  void WaitForAgents() const;

  // SIGKILL to every agent / start every agent again (waits until ready).
  void KillAgents() const;
  void StartAgents() const;

  // Every pair on TCP/port, probed for real, against the compiled model of the lab's
  // manifests (what `flatwall matrix` says); the mismatches, "from -> to: ..." each.
  std::vector<std::string> MismatchesWithModel(uint16_t port) const;

  // GET path from the agent of `node` ("node-1").
  std::string AgentGet(const std::string& node, const std::string& path) const;

  TopologyPlan plan_;
};

// A TCP connection between two pods, opened by the test on a port of its own (the pod
// servers close after one reply): a listener in the server pod's namespace and a client
// in the other's, both sockets owned by this process.
class PodConnection {
 public:
  static std::unique_ptr<PodConnection> Open(const PodPlan& client, const PodPlan& server,
                                             uint16_t port);
  ~PodConnection();
  // One line each way within `timeout`; false when either direction is cut.
  bool Exchange(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

 private:
  PodConnection(int client, int server) : client_(client), server_(server) {}
  int client_;
  int server_;
};

}  // namespace flatwall::lab

#endif  // FLATWALL_TESTS_LAB_AGENT_LAB_FIXTURE_H_
