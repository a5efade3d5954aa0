#include "agent/daemon/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersAndGaugesWithEscapingExactly) {
  MetricsRegistry registry;
  absl::StatusOr<MetricFamily*> requests =
      registry.AddCounter("test_requests_total", "Requests, by path.\nSee \\docs.",
                          {"path", "code"});
  FW_ASSERT_OK(requests);
  absl::StatusOr<MetricFamily*> temperature = registry.AddGauge("test_temperature", "Degrees.");
  FW_ASSERT_OK(temperature);
  FW_ASSERT_OK((*requests)->Add({"/a\"b", "200"}, 2));
  FW_ASSERT_OK((*requests)->Add({"C:\\x\ny", "404"}, 1));
  FW_ASSERT_OK((*requests)->Add({"/a\"b", "200"}, 1));
  FW_ASSERT_OK((*temperature)->Set({}, -3.5));

  // Families by name; series by label values ("/" sorts before "C").
  EXPECT_EQ(registry.Render(),
            "# HELP test_requests_total Requests, by path.\\nSee \\\\docs.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{path=\"/a\\\"b\",code=\"200\"} 3\n"
            "test_requests_total{path=\"C:\\\\x\\ny\",code=\"404\"} 1\n"
            "# HELP test_temperature Degrees.\n"
            "# TYPE test_temperature gauge\n"
            "test_temperature -3.5\n");
}

TEST(MetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  absl::StatusOr<MetricFamily*> latency =
      registry.AddHistogram("test_seconds", "Latency.", {0.5, 1}, {"op"});
  FW_ASSERT_OK(latency);
  // A value equal to a bound falls in that bound's bucket (le = "less or equal").
  for (double value : {0.25, 0.5, 0.75, 2.0}) FW_ASSERT_OK((*latency)->Observe({"apply"}, value));

  EXPECT_EQ(registry.Render(),
            "# HELP test_seconds Latency.\n"
            "# TYPE test_seconds histogram\n"
            "test_seconds_bucket{op=\"apply\",le=\"0.5\"} 2\n"
            "test_seconds_bucket{op=\"apply\",le=\"1\"} 3\n"
            "test_seconds_bucket{op=\"apply\",le=\"+Inf\"} 4\n"
            "test_seconds_sum{op=\"apply\"} 3.5\n"
            "test_seconds_count{op=\"apply\"} 4\n");
}

TEST(MetricsTest, FamilyWithoutSeriesRendersOnlyHelpAndType) {
  MetricsRegistry registry;
  FW_ASSERT_OK(registry.AddHistogram("test_seconds", "Latency.", {1}));
  EXPECT_EQ(registry.Render(), "# HELP test_seconds Latency.\n# TYPE test_seconds histogram\n");
}

TEST(MetricsTest, ClearDropsEverySeries) {
  MetricsRegistry registry;
  absl::StatusOr<MetricFamily*> gauge = registry.AddGauge("test_maps", "Maps.", {"map"});
  FW_ASSERT_OK(gauge);
  FW_ASSERT_OK((*gauge)->Set({"gone"}, 1));
  (*gauge)->Clear();
  FW_ASSERT_OK((*gauge)->Set({"kept"}, 2));
  EXPECT_EQ(registry.Render(),
            "# HELP test_maps Maps.\n# TYPE test_maps gauge\ntest_maps{map=\"kept\"} 2\n");
}

TEST(MetricsTest, RegistrationRejectsInvalidNamesLabelsAndBuckets) {
  struct Case {
    const char* name;
    std::vector<std::string> labels;
    std::vector<double> bounds;  // empty: a counter
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const Case& c : std::vector<Case>{
           {"1starts_with_digit", {}, {}},
           {"has-dash", {}, {}},
           {"", {}, {}},
           {"ok_name", {"bad-label"}, {}},
           {"ok_name", {"__reserved"}, {}},
           {"ok_name", {"a", "a"}, {}},
           {"ok_name", {"le"}, {1}},
           {"ok_name", {}, {2, 1}},
           {"ok_name", {}, {1, 1}},
           {"ok_name", {}, {1, inf}},
       }) {
    SCOPED_TRACE(c.name);
    MetricsRegistry registry;
    const absl::Status status =
        c.bounds.empty() ? registry.AddCounter(c.name, "help", c.labels).status()
                         : registry.AddHistogram(c.name, "help", c.bounds, c.labels).status();
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  }
}

TEST(MetricsTest, SecondRegistrationOfANameIsAlreadyExists) {
  MetricsRegistry registry;
  FW_ASSERT_OK(registry.AddCounter("test_total", "help"));
  EXPECT_THAT(registry.AddGauge("test_total", "help"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("test_total")));
}

TEST(MetricsTest, UpdatesCheckLabelCountSignAndType) {
  MetricsRegistry registry;
  absl::StatusOr<MetricFamily*> counter = registry.AddCounter("test_total", "help", {"a"});
  absl::StatusOr<MetricFamily*> histogram = registry.AddHistogram("test_seconds", "help", {1});
  FW_ASSERT_OK(counter);
  FW_ASSERT_OK(histogram);
  EXPECT_THAT((*counter)->Add({}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 label values, got 0")));
  EXPECT_THAT((*counter)->Add({"x"}, -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot decrease")));
  EXPECT_THAT((*counter)->Observe({"x"}, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a histogram")));
  EXPECT_THAT((*histogram)->Set({}, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is a histogram")));
  // The rejected updates left no series behind.
  EXPECT_THAT(registry.Render(), ::testing::Not(HasSubstr("test_total{")));
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  absl::StatusOr<MetricFamily*> counter = registry.AddCounter("test_total", "help");
  FW_ASSERT_OK(counter);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) (void)(*counter)->Add({}, 1);
    });
  }
  // Rendering while others write must be safe too.
  EXPECT_THAT(registry.Render(), HasSubstr("# TYPE test_total counter"));
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(registry.Render(), HasSubstr("\ntest_total 4000\n"));
}

TEST(MetricsTest, ValuesUseTheShortestRoundTripText) {
  struct Case {
    double value;
    const char* want;
  };
  for (const Case& c : {Case{1, "1"}, Case{0.25, "0.25"}, Case{0.1, "0.1"}, Case{-2, "-2"},
                        Case{262144, "262144"}, Case{1e21, "1e+21"},
                        Case{std::numeric_limits<double>::infinity(), "+Inf"},
                        Case{-std::numeric_limits<double>::infinity(), "-Inf"},
                        Case{std::nan(""), "NaN"}}) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatMetricValue(c.value), c.want);
  }
}

}  // namespace
}  // namespace flatwall::agent
