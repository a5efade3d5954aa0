// gtest helpers for absl::Status / StatusOr (abseil 20220623 ships none).
#ifndef FLATWALL_TESTS_TESTING_STATUS_MATCHERS_H_
#define FLATWALL_TESTS_TESTING_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flatwall::testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = StatusOf(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace flatwall::testing

#define FW_ASSERT_OK(expr) ASSERT_THAT((expr), ::flatwall::testing::IsOk())
#define FW_EXPECT_OK(expr) EXPECT_THAT((expr), ::flatwall::testing::IsOk())

#endif  // FLATWALL_TESTS_TESTING_STATUS_MATCHERS_H_
