#include "tests/testing/reachability_cluster.h"

#include <sstream>
#include <stdexcept>

namespace flatwall::testing {
namespace {

int PodIndex(const std::string& pod) {
  std::vector<std::string> names = E2ePodNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == pod) return static_cast<int>(i);
  }
  throw std::invalid_argument("not an e2e pod: " + pod);  // a typo in a test table
}

bool Matches(const std::string& pattern, const std::string& pod) {
  if (pattern == "*") return true;
  size_t slash = pattern.find('/');
  std::string ns = pattern.substr(0, slash), name = pattern.substr(slash + 1);
  size_t pod_slash = pod.find('/');
  return (ns == "*" || ns == pod.substr(0, pod_slash)) &&
         (name == "*" || name == pod.substr(pod_slash + 1));
}

}  // namespace

std::vector<std::string> E2ePodNames() {
  std::vector<std::string> names;
  for (const char* ns : kE2eNamespaces) {
    for (const char* pod : kE2ePods) names.push_back(std::string(ns) + "/" + pod);
  }
  return names;
}

std::string E2ePodIp(const std::string& pod) {
  int index = PodIndex(pod);
  return "10.10.1." + std::to_string(10 * (index / 3 + 1) + index % 3 + 1);
}

std::string E2eClusterYaml() {
  std::ostringstream yaml;
  for (const char* ns : kE2eNamespaces) {
    // Quoted: YAML 1.1, which Kubernetes uses, reads a bare y as a boolean.
    yaml << "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"" << ns
         << "\"\n  labels:\n    ns: \"" << ns << "\"\n---\n";
  }
  int index = 0;
  for (const std::string& pod : E2ePodNames()) {
    size_t slash = pod.find('/');
    yaml << "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: \"" << pod.substr(0, slash)
         << "\"\n  name: " << pod.substr(slash + 1) << "\n  labels:\n    pod: "
         << pod.substr(slash + 1) << "\nspec:\n  nodeName: node-" << (index++ % 2 + 1)
         << "\n  containers:\n";
    for (int port : {80, 81}) {
      for (const char* protocol : {"TCP", "UDP", "SCTP"}) {
        std::string lower = protocol;
        for (char& c : lower) c = static_cast<char>(std::tolower(c));
        yaml << "  - name: cont-" << port << "-" << lower << "\n    image: agnhost\n"
             << "    ports:\n    - name: serve-" << port << "-" << lower
             << "\n      containerPort: " << port << "\n      protocol: " << protocol << "\n";
      }
    }
    yaml << "status:\n  podIP: " << E2ePodIp(pod) << "\n---\n";
  }
  return yaml.str();
}

TruthTable::TruthTable(bool allowed) {
  for (auto& row : cells_) row.fill(allowed);
}

TruthTable& TruthTable::Set(const std::string& from, const std::string& to, bool allowed) {
  std::vector<std::string> names = E2ePodNames();
  bool matched = false;
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < names.size(); ++j) {
      if (Matches(from, names[i]) && Matches(to, names[j])) {
        cells_[i][j] = allowed;
        matched = true;
      }
    }
  }
  if (!matched) throw std::invalid_argument("pattern matches no pod: " + from + " -> " + to);
  return *this;
}

TruthTable& TruthTable::AllowLoopback() {
  for (size_t i = 0; i < cells_.size(); ++i) cells_[i][i] = true;
  return *this;
}

bool TruthTable::allowed(const std::string& from, const std::string& to) const {
  return cells_[PodIndex(from)][PodIndex(to)];
}

std::string TruthTable::ToString() const {
  std::vector<std::string> names = E2ePodNames();
  std::ostringstream out;
  out << "from\\to";
  for (const std::string& name : names) out << " " << name;
  out << "\n";
  for (size_t i = 0; i < names.size(); ++i) {
    out << names[i] << "    ";
    for (size_t j = 0; j < names.size(); ++j) out << "   " << (cells_[i][j] ? '.' : 'X');
    out << "\n";
  }
  return out.str();
}

}  // namespace flatwall::testing
