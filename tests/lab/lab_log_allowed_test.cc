// flatwall.io/log-allowed end to end: real TCP connections between lab pods, and the
// records the real agent writes to its verdict log. A namespace annotated "true" gets an
// `ALLOW RULE` record for a new connection, one not annotated gets none; a policy
// annotated "true" gets records for the flows it allows and no other. Needs root.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/lab/lab_names.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lab/agent_lab_fixture.h"

namespace flatwall::lab {
namespace {

// Namespace x as the e2e cluster has it (label ns=x), annotated with `value`.
std::string NamespaceX(const std::string& value) {
  return absl::StrCat(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"x\"\n  labels:\n    ns: \"x\"\n"
      "  annotations:\n    flatwall.io/log-allowed: \"",
      value, "\"\n");
}

// x/* accepts namespace `from` (every port); the policy is annotated with `log_allowed`
// unless it is empty.
std::string IngressFrom(const std::string& name, const std::string& from,
                        const std::string& log_allowed) {
  std::string annotations =
      log_allowed.empty()
          ? ""
          : absl::StrCat("  annotations:\n    flatwall.io/log-allowed: \"", log_allowed, "\"\n");
  return absl::StrCat("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n",
                      "  namespace: x\n  name: ", name, "\n", annotations,
                      "spec:\n  podSelector: {}\n  ingress:\n  - from:\n",
                      "    - namespaceSelector: {matchLabels: {ns: '", from, "'}}\n");
}

class LabLogAllowedTest : public AgentLabTest {
 protected:
  // The records of the verdict log of `pod`'s node whose destination is `pod` and whose
  // source is in namespace `from_namespace`.
  std::vector<nlohmann::json> RecordsTo(const std::string& pod,
                                        const std::string& from_namespace) const {
    std::ifstream in(absl::StrCat(LabNames(lab_name_).NodeDir(Pod(pod).node), "/verdicts.jsonl"));
    std::stringstream text;
    text << in.rdbuf();
    const std::vector<std::string> key = absl::StrSplit(pod, '/');
    std::vector<nlohmann::json> records;
    for (absl::string_view line : absl::StrSplit(text.str(), '\n', absl::SkipEmpty())) {
      nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!record.is_object() || !record.contains("dst") || !record.contains("src")) continue;
      if (record["dst"].value("namespace", "") == key[0] &&
          record["dst"].value("name", "") == key[1] &&
          record["src"].value("namespace", "") == from_namespace) {
        records.push_back(std::move(record));
      }
    }
    return records;
  }

  // Waits (up to 2 s) until RecordsTo(pod, from_namespace) holds a record with `verdict`.
  bool WaitForVerdict(const std::string& pod, const std::string& from_namespace,
                      const std::string& verdict) const {
    for (int attempt = 0; attempt < 100; ++attempt) {
      for (const nlohmann::json& record : RecordsTo(pod, from_namespace)) {
        if (record["verdict"] == verdict) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  static int CountVerdict(const std::vector<nlohmann::json>& records, const std::string& verdict) {
    int count = 0;
    for (const nlohmann::json& record : records) count += record["verdict"] == verdict;
    return count;
  }
};

TEST_F(LabLogAllowedTest, AnnotatedNamespaceLogsAllowedNewConnectionsAndPlainOneDoesNot) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  ASSERT_TRUE(Connects("y/a", "x/a", 80));
  // A denied connection after it, on the same node's log, shows the log has caught up.
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  ASSERT_TRUE(WaitForVerdict("x/a", "z", "deny"));
  EXPECT_EQ(CountVerdict(RecordsTo("x/a", "y"), "allow"), 0) << "x is not annotated";

  Apply("namespace-x.yaml", NamespaceX("true"));
  ASSERT_TRUE(Connects("y/a", "x/a", 80));
  ASSERT_TRUE(WaitForVerdict("x/a", "y", "allow"));
  const std::vector<nlohmann::json> records = RecordsTo("x/a", "y");
  ASSERT_EQ(CountVerdict(records, "allow"), 1) << "one record per new connection";
  for (const nlohmann::json& record : records) {
    if (record["verdict"] != "allow") continue;
    EXPECT_EQ(record["reason"], "RULE");
    EXPECT_EQ(record["direction"], "ingress");
    EXPECT_EQ(record["dst"]["port"], 80);
    EXPECT_EQ(record["policy"]["namespace"], "x");
    EXPECT_EQ(record["policy"]["name"], "only-from-y");
  }

  // Annotated "false" again: new connections are no longer logged.
  Apply("namespace-x.yaml", NamespaceX("false"));
  ASSERT_TRUE(Connects("y/a", "x/a", 80));
  ASSERT_FALSE(Connects("z/b", "x/a", 80));
  ASSERT_TRUE(WaitForVerdict("x/a", "z", "deny"));
  EXPECT_EQ(CountVerdict(RecordsTo("x/a", "y"), "allow"), 1);
}

TEST_F(LabLogAllowedTest, AnnotatedPolicyLogsOnlyTheFlowsItAllows) {
  Apply("from-y.yaml", IngressFrom("from-y", "y", "true"));
  Apply("from-z.yaml", IngressFrom("from-z", "z", ""));
  ASSERT_TRUE(Connects("y/a", "x/a", 80));
  ASSERT_TRUE(Connects("z/a", "x/a", 80));
  // x/b is neither y nor z: denied, and logged after the two above.
  ASSERT_FALSE(Connects("x/b", "x/a", 80));
  ASSERT_TRUE(WaitForVerdict("x/a", "x", "deny"));

  const std::vector<nlohmann::json> from_y = RecordsTo("x/a", "y");
  ASSERT_EQ(CountVerdict(from_y, "allow"), 1);
  for (const nlohmann::json& record : from_y) {
    EXPECT_EQ(record["reason"], "RULE");
    EXPECT_EQ(record["policy"]["name"], "from-y");
  }
  EXPECT_EQ(CountVerdict(RecordsTo("x/a", "z"), "allow"), 0) << "from-z is not annotated";
}

}  // namespace
}  // namespace flatwall::lab
