#include "policy-compiler/cluster_state.h"

#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::Delete;
using ::flatwall::testing::MakeNamespace;
using ::flatwall::testing::PodBuilder;
using ::flatwall::testing::Upsert;

// The agent's first sync applies a list's page batches: in order across batches, so a
// later batch's event about an object wins over an earlier one.
TEST(ClusterStateTest, BatchesApplyInOrderAcrossBatches) {
  EventBatches batches(3);
  batches[0].push_back(Upsert(MakeNamespace("x")));
  batches[0].push_back(Upsert(PodBuilder("x", "a").Labels({{"app", "v1"}}).Build()));
  batches[0].push_back(Upsert(PodBuilder("x", "b").Build()));
  batches[1].push_back(Upsert(PodBuilder("x", "a").Labels({{"app", "v2"}}).Build()));
  batches[2].push_back(Delete(PodBuilder("x", "b").Build()));

  ClusterState state;
  state.Apply(std::move(batches));
  EXPECT_EQ(state.namespaces().size(), 1u);
  ASSERT_EQ(state.pods().size(), 1u);
  ASSERT_NE(state.FindPod("x/a"), nullptr);
  EXPECT_EQ(state.FindPod("x/a")->labels.at("app"), "v2");
  EXPECT_EQ(state.FindPod("x/b"), nullptr);
}

}  // namespace
}  // namespace flatwall::compiler
