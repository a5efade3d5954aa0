#include "agent/lab/lab_state.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/reachability_cluster.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

void ExpectSamePlan(const TopologyPlan& got, const TopologyPlan& want) {
  EXPECT_EQ(got.lab_name, want.lab_name);
  EXPECT_EQ(got.node_count, want.node_count);
  EXPECT_EQ(got.fabric_netns, want.fabric_netns);
  ASSERT_EQ(got.nodes.size(), want.nodes.size());
  for (size_t i = 0; i < got.nodes.size(); ++i) {
    EXPECT_EQ(got.nodes[i].netns, want.nodes[i].netns);
    EXPECT_EQ(got.nodes[i].underlay_ipv4, want.nodes[i].underlay_ipv4);
    EXPECT_EQ(got.nodes[i].underlay_ipv6, want.nodes[i].underlay_ipv6);
  }
  EXPECT_EQ(got.pods, want.pods);
  EXPECT_EQ(got.services, want.services);
  EXPECT_EQ(got.next_node, want.next_node);
  EXPECT_EQ(got.notes, want.notes);
}

TEST(LabStateTest, RoundTripsThroughJson) {
  absl::StatusOr<TopologyPlan> plan = PlanTopology(
      StateFromYaml(testing::E2eClusterYaml() +
                    PodYaml("x", "dual", "{v: dual}", "", {"10.10.1.50", "fd00:10:1::50"}) +
                    PodYaml("x", "allocated", "{v: allocated}", "", {})),
      "t", 2);
  FW_ASSERT_OK(plan);
  LabState state{"/build/flatwall", "/build/flatwall-agent", *plan};
  absl::StatusOr<LabState> loaded = LabStateFromJson(LabStateToJson(state));
  FW_ASSERT_OK(loaded);
  EXPECT_EQ(loaded->flatwall_binary, "/build/flatwall");
  EXPECT_EQ(loaded->agent, "/build/flatwall-agent");
  ExpectSamePlan(loaded->plan, *plan);

  state.agent = std::nullopt;
  loaded = LabStateFromJson(LabStateToJson(state));
  FW_ASSERT_OK(loaded);
  EXPECT_EQ(loaded->agent, std::nullopt);
}

TEST(LabStateTest, SavedStateLoadsBack) {
  TempDir dir;
  absl::StatusOr<TopologyPlan> plan =
      PlanTopology(StateFromYaml(testing::E2eClusterYaml()), "t", 2);
  FW_ASSERT_OK(plan);
  std::string path = dir.path() + "/lab.json";
  FW_ASSERT_OK(SaveLabState(path, {"/f", std::nullopt, *plan}));
  absl::StatusOr<LabState> loaded = LoadLabState(path);
  FW_ASSERT_OK(loaded);
  ExpectSamePlan(loaded->plan, *plan);
}

TEST(LabStateTest, MissingOrForeignFilesAreErrors) {
  TempDir dir;
  EXPECT_THAT(LoadLabState(dir.path() + "/none.json"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.json")));
  EXPECT_THAT(LoadLabState(dir.Write("bad.json", "{\"version\": 7}")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
  EXPECT_THAT(LoadLabState(dir.Write("junk.json", "not json")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a lab state")));
}

}  // namespace
}  // namespace flatwall::lab
