// The cluster of the upstream Kubernetes e2e NetworkPolicy suite — namespaces x, y, z
// (label ns=<name>), pods a, b, c in each (label pod=<name>), each serving ports 80 and 81
// over TCP, UDP and SCTP under named ports "serve-80-tcp" … "serve-81-sctp" — and a truth
// table builder for the expected reachability between its nine pods.
//
// Shared by the compiler's reachability suite, its run through the real BPF program and
// the lab's end-to-end run, so all three check the same scenarios.
#ifndef FLATWALL_TESTS_TESTING_REACHABILITY_CLUSTER_H_
#define FLATWALL_TESTS_TESTING_REACHABILITY_CLUSTER_H_

#include <array>
#include <string>
#include <vector>

namespace flatwall::testing {

inline constexpr std::array<const char*, 3> kE2eNamespaces = {"x", "y", "z"};
inline constexpr std::array<const char*, 3> kE2ePods = {"a", "b", "c"};

// "x/a" … "z/c", in namespace-major order.
std::vector<std::string> E2ePodNames();

// Pod "<ns>/<pod>" has IPv4 10.10.1.<10*(ns index+1) + pod index+1>: x/a 10.10.1.11,
// y/b 10.10.1.22, z/c 10.10.1.33 (in the lab's subnet 10.10.1.0/24); nodes alternate
// node-1, node-2.
std::string E2ePodIp(const std::string& pod);

// Namespaces and pods as multi-document YAML.
std::string E2eClusterYaml();

// Expected reachability between the nine pods, for one port and protocol.
class TruthTable {
 public:
  explicit TruthTable(bool allowed);

  // `from`/`to`: "x/a", "x/*" (a namespace), "*/a" (a pod name in every namespace) or "*".
  TruthTable& Set(const std::string& from, const std::string& to, bool allowed);
  TruthTable& Allow(const std::string& from, const std::string& to) { return Set(from, to, true); }
  TruthTable& Deny(const std::string& from, const std::string& to) { return Set(from, to, false); }
  // A pod reaching itself never leaves the pod (loopback), so policy cannot deny it.
  TruthTable& AllowLoopback();

  bool allowed(const std::string& from, const std::string& to) const;
  // The grid as text ('.' allowed, 'X' denied), for failure messages.
  std::string ToString() const;

 private:
  std::array<std::array<bool, 9>, 9> cells_{};
};

}  // namespace flatwall::testing

#endif  // FLATWALL_TESTS_TESTING_REACHABILITY_CLUSTER_H_
