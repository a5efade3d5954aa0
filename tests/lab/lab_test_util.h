// Helpers shared by the lab's tests: cluster states from YAML, and for the tests that
// build real labs (root only) a fixture that gives each test its own lab, tears it down
// afterwards and checks that nothing is left behind.
//
// Not here: the e2e cluster itself (tests/testing/reachability_cluster.h).
#ifndef FLATWALL_TESTS_LAB_LAB_TEST_UTIL_H_
#define FLATWALL_TESTS_LAB_LAB_TEST_UTIL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/lab/prober.h"
#include "agent/lab/topology_plan.h"
#include "gtest/gtest.h"
#include "policy-compiler/cluster_state.h"

namespace flatwall::lab {

// The objects of `yaml`; the test fails on any decode error.
compiler::ClusterState StateFromYaml(const std::string& yaml);

// A pod manifest: `ips` may be empty (the lab allocates), `node` empty (unscheduled).
std::string PodYaml(const std::string& namespace_name, const std::string& name,
                    const std::string& labels_flow, const std::string& node,
                    const std::vector<std::string>& ips,
                    const std::vector<std::string>& ports_flow = {"{containerPort: 80}"});

// A directory under the test's temporary directory, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `contents` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

// For tests that build real labs: skips without root; gives the test a lab name of its
// own (so tests may run in parallel), removes leftovers of an earlier run of the same test
// first, and tears the lab down afterwards, failing if anything is left.
class RealLabTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Fails the test if any namespace, state directory or pin root of the lab remains, or
  // any of `pids` is still running.
  void ExpectNothingLeft(const std::vector<pid_t>& pids = {}) const;
  // Every process in the lab's namespaces now.
  std::vector<pid_t> LabProcesses() const;

  std::string lab_name_;
  TempDir temp_;
};

// The `flatwall` binary of this build (it serves the lab's pods).
std::string FlatwallBinary();

// A loaded 2-core machine can hold an allowed flow's answer past the timeout of a probe
// of the whole matrix. When `result` timed out though its flow `should_allow`, it is
// replaced by the pair probed again alone (`options` with a 5 s timeout); the test fails
// if that cannot be done. A flow that should be denied is never probed again, so a
// policy error still fails.
void ProbeAgainIfAllowedFlowTimedOut(const TopologyPlan& plan, bool should_allow,
                                     ProbeOptions options, ProbeResult* result);

}  // namespace flatwall::lab

#endif  // FLATWALL_TESTS_LAB_LAB_TEST_UTIL_H_
