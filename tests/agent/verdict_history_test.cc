#include "agent/daemon/verdict_history.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace flatwall::agent {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

std::shared_ptr<const VerdictSnapshot> Named(const std::string& node) {
  return std::make_shared<const VerdictSnapshot>(compiler::MapImage{}, node);
}

TEST(VerdictHistoryTest, PicksTheSnapshotInForceAtTheEventsTime) {
  VerdictHistory history("start");
  history.Add(Named("first"), 100 * kSecond);
  history.Add(Named("second"), 110 * kSecond);
  struct Case {
    uint64_t time_ns;
    const char* want;
  };
  for (const Case& c : {Case{50 * kSecond, "start"}, Case{100 * kSecond, "first"},
                        Case{109 * kSecond, "first"}, Case{110 * kSecond, "second"},
                        Case{900 * kSecond, "second"}}) {
    SCOPED_TRACE(c.time_ns);
    EXPECT_EQ(history.At(c.time_ns).node_name(), c.want);
  }
  EXPECT_EQ(history.Latest().node_name(), "second");
}

TEST(VerdictHistoryTest, SnapshotsSupersededLongAgoAreDropped) {
  VerdictHistory history("start");
  for (uint64_t i = 1; i <= 10; ++i) {
    history.Add(Named(absl::StrCat("s", i)), i * 100 * kSecond);
  }
  // Kept: the latest and the one it superseded just now (events of the last moments).
  EXPECT_EQ(history.size(), 2u);
  EXPECT_EQ(history.At(999 * kSecond).node_name(), "s9");
  // An event older than everything kept is read with the oldest snapshot kept.
  EXPECT_EQ(history.At(0).node_name(), "s9");
}

TEST(VerdictHistoryTest, TimeGoingBackwardsReplacesTheLatestInsteadOfUnsorting) {
  VerdictHistory history("start");
  history.Add(Named("first"), 100 * kSecond);
  history.Add(Named("second"), 90 * kSecond);
  EXPECT_EQ(history.At(100 * kSecond).node_name(), "second");
  EXPECT_EQ(history.At(95 * kSecond).node_name(), "start");
  EXPECT_EQ(history.size(), 2u);
}

}  // namespace
}  // namespace flatwall::agent
