#include "tests/lab/lab_test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/lab/lab.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"
#include "policy-compiler/manifest_decoder.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::milliseconds kRetryTimeout{5000};

}  // namespace

compiler::ClusterState StateFromYaml(const std::string& yaml) {
  compiler::DecodeResult decoded = compiler::DecodeManifest("test.yaml", yaml);
  for (const compiler::DecodeError& error : decoded.errors) ADD_FAILURE() << error.ToString();
  compiler::ClusterState state;
  for (compiler::ClusterObject& object : decoded.objects) {
    state.Apply({compiler::ClusterEvent::kUpsert, std::move(object)});
  }
  return state;
}

std::string PodYaml(const std::string& namespace_name, const std::string& name,
                    const std::string& labels_flow, const std::string& node,
                    const std::vector<std::string>& ips,
                    const std::vector<std::string>& ports_flow) {
  std::string yaml =
      absl::StrCat("apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: \"", namespace_name,
                   "\"\n  name: ", name, "\n  labels: ", labels_flow, "\nspec:\n");
  if (!node.empty()) absl::StrAppend(&yaml, "  nodeName: ", node, "\n");
  absl::StrAppend(&yaml, "  containers:\n  - name: c\n    image: agnhost\n    ports: [",
                  absl::StrJoin(ports_flow, ", "), "]\n");
  if (!ips.empty()) {
    std::vector<std::string> items;
    for (const std::string& ip : ips) items.push_back(absl::StrCat("{ip: \"", ip, "\"}"));
    absl::StrAppend(&yaml, "status:\n  podIPs: [", absl::StrJoin(items, ", "), "]\n");
  }
  return absl::StrCat(yaml, "---\n");
}

TempDir::TempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base ? base : "/tmp", "/flatwall-lab-test-XXXXXX");
  path_ = mkdtemp(pattern.data()) ? pattern : "";
}

TempDir::~TempDir() {
  std::error_code error;
  if (!path_.empty()) fs::remove_all(path_, error);
}

std::string TempDir::Write(const std::string& name, const std::string& contents) const {
  std::string path = absl::StrCat(path_, "/", name);
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

std::string FlatwallBinary() { return FLATWALL_BINARY; }

void RealLabTest::SetUp() {
  if (geteuid() != 0) {
    GTEST_SKIP() << "builds network namespaces: needs root (CI runs this as root)";
  }
  // A name of its own per test, stable across runs, so a crashed earlier run's leftovers
  // are found and removed here.
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  uint64_t hash = 14695981039346656037ull;
  for (char c : absl::StrCat(test->test_suite_name(), ".", test->name())) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  lab_name_ = absl::StrFormat("t%010x", hash >> 24);
  ASSERT_TRUE(LabDown(lab_name_).ok());
}

void RealLabTest::TearDown() {
  if (lab_name_.empty()) return;
  std::vector<pid_t> pids = LabProcesses();
  absl::StatusOr<TeardownReport> report = LabDown(lab_name_);
  EXPECT_TRUE(report.ok()) << report.status();
  ExpectNothingLeft(pids);
}

std::vector<pid_t> RealLabTest::LabProcesses() const {
  std::vector<pid_t> pids;
  for (const std::string& netns : ListNetns(LabNames(lab_name_).NetnsPrefix())) {
    std::vector<pid_t> members = ProcessesInNetns(netns);
    pids.insert(pids.end(), members.begin(), members.end());
  }
  return pids;
}

void RealLabTest::ExpectNothingLeft(const std::vector<pid_t>& pids) const {
  LabNames names(lab_name_);
  EXPECT_EQ(ListNetns(names.NetnsPrefix()), std::vector<std::string>{});
  std::error_code error;
  EXPECT_FALSE(fs::exists(names.StateDir(), error)) << names.StateDir();
  for (const auto& entry : fs::directory_iterator(kBpffsRoot, error)) {
    EXPECT_NE(entry.path().filename().string().rfind(names.BpffsPrefix(), 0), 0u)
        << "pin root left: " << entry.path();
  }
  for (pid_t pid : pids) EXPECT_FALSE(ProcessAlive(pid)) << "process " << pid << " still runs";
}

void ProbeAgainIfAllowedFlowTimedOut(const TopologyPlan& plan, bool should_allow,
                                     ProbeOptions options, ProbeResult* result) {
  if (!should_allow || result->outcome != ProbeOutcome::kTimedOut) return;
  options.timeout = kRetryTimeout;
  absl::StatusOr<ProbeResult> again =
      ProbePair(plan, result->reachability.from, result->reachability.to, options);
  if (again.ok()) {
    *result = *std::move(again);
  } else {
    ADD_FAILURE() << "probing " << result->reachability.from << " -> "
                  << result->reachability.to << " again: " << again.status();
  }
}

}  // namespace flatwall::lab
