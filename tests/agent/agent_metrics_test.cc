#include "agent/daemon/agent_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/map_writer.h"
#include "agent/packet_builder.h"
#include "agent/packet_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/kernel_test_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(AgentMetricsTest, CreateRegistersEveryFamilyWithZeroSeriesWhereItCan) {
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<AgentMetrics>> metrics = AgentMetrics::Create(registry);
  FW_ASSERT_OK(metrics);
  const std::string text = registry.Render();
  for (const char* type_line : {
           "# TYPE flatwall_endpoints gauge", "# TYPE flatwall_identities gauge",
           "# TYPE flatwall_rules gauge", "# TYPE flatwall_map_entries gauge",
           "# TYPE flatwall_map_capacity gauge", "# TYPE flatwall_compile_seconds histogram",
           "# TYPE flatwall_apply_seconds histogram", "# TYPE flatwall_verdicts_total counter",
           "# TYPE flatwall_events_suppressed_total counter",
           "# TYPE flatwall_ringbuf_lost_total counter",
           "# TYPE flatwall_source_errors_total counter", "# TYPE flatwall_veths gauge",
           "# TYPE flatwall_source_synced_timestamp_seconds gauge",
           "\nflatwall_source_errors_total 0\n", "\nflatwall_veths{state=\"attached\"} 0\n",
           "\nflatwall_veths{state=\"waiting\"} 0\n"}) {
    EXPECT_THAT(text, HasSubstr(type_line));
  }
}

TEST(AgentMetricsTest, SecondAgentMetricsOnOneRegistryIsAlreadyExists) {
  MetricsRegistry registry;
  FW_ASSERT_OK(AgentMetrics::Create(registry));
  EXPECT_THAT(AgentMetrics::Create(registry),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("flatwall_endpoints")));
}

TEST(AgentMetricsTest, LoopUpdatesShowInTheRendering) {
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<AgentMetrics>> metrics = AgentMetrics::Create(registry);
  FW_ASSERT_OK(metrics);
  compiler::MapImage image;
  image.endpoint_info.resize(3);
  image.identities.resize(2);
  image.rule_table.resize(5);
  (*metrics)->SetPolicyState(image);
  (*metrics)->ObserveCompileSeconds(0.003);
  (*metrics)->ObserveApplySeconds(20);
  (*metrics)->AddSourceError();
  (*metrics)->SetVeths(4, 1);
  (*metrics)->SetSourceSynced(absl::FromUnixMillis(1700000000250));

  const std::string text = registry.Render();
  for (const char* sample :
       {"\nflatwall_endpoints 3\n", "\nflatwall_identities 2\n", "\nflatwall_rules 5\n",
        "\nflatwall_compile_seconds_bucket{le=\"0.0025\"} 0\n",
        "\nflatwall_compile_seconds_bucket{le=\"0.005\"} 1\n",
        "\nflatwall_compile_seconds_count 1\n",
        "\nflatwall_apply_seconds_bucket{le=\"10\"} 0\n",
        "\nflatwall_apply_seconds_bucket{le=\"+Inf\"} 1\n",
        "\nflatwall_source_errors_total 1\n", "\nflatwall_veths{state=\"attached\"} 4\n",
        "\nflatwall_veths{state=\"waiting\"} 1\n",
        "\nflatwall_source_synced_timestamp_seconds 1700000000.25\n"}) {
    EXPECT_THAT(text, HasSubstr(sample));
  }
}

class AgentMetricsKernelTest : public testing::KernelTest {};

TEST_F(AgentMetricsKernelTest, SampleDatapathReportsFillLevelsAndVerdictTotals) {
  LoadDatapath();
  ASSERT_NE(datapath_, nullptr);
  // One endpoint in the table; the image says the rule maps hold 5 exact-port entries and 2
  // port-range pieces (the sampler takes the rule and CIDR map sizes from the image instead
  // of walking them).
  compiler::EndpointEntry endpoint{};
  std::memcpy(endpoint.key.addr.bytes, Ip("10.10.1.5").bytes().data(), 16);
  endpoint.value.identity = 300;
  FW_ASSERT_OK(MapWriter(*datapath_).Upsert(std::vector<compiler::EndpointEntry>{endpoint}));
  compiler::MapImage image;
  image.rules.resize(7);
  for (size_t i = 0; i < image.rules.size(); ++i) {
    image.rules[i].key.prefixlen = i < 5 ? FW_RULE_KEY_BITS : FW_RULE_KEY_BITS - 2;
  }
  // A packet between two addresses that are no endpoint: allowed as NO_ENDPOINT.
  const std::vector<uint8_t> frame =
      PacketBuilder(Ip("192.0.2.1"), Ip("192.0.2.2")).Udp(1000, 53).Build();
  absl::StatusOr<RunResult> run = PacketRunner(*datapath_).Run(FW_HOOK_TO_POD, frame);
  FW_ASSERT_OK(run);
  ASSERT_EQ(run->reason, FW_REASON_NO_ENDPOINT);

  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<AgentMetrics>> metrics = AgentMetrics::Create(registry);
  FW_ASSERT_OK(metrics);
  FW_ASSERT_OK((*metrics)->SampleDatapath(*datapath_, image));

  const std::string text = registry.Render();
  for (const std::string& sample : {
           absl::StrCat("\nflatwall_map_capacity{map=\"fw_ct_v1\"} ", FW_MAX_CONNTRACK, "\n"),
           absl::StrCat("\nflatwall_map_capacity{map=\"fw_rules_v2\"} ", FW_MAX_RULES, "\n"),
           std::string("\nflatwall_map_entries{map=\"fw_endpoints_v2\"} 1\n"),
           std::string("\nflatwall_map_entries{map=\"fw_rules_v2\"} 5\n"),
           std::string("\nflatwall_map_entries{map=\"fw_ranges_v1\"} 2\n"),
           std::string("\nflatwall_map_entries{map=\"fw_ct_v1\"} 0\n"),
           std::string("\nflatwall_verdicts_total{verdict=\"allow\",reason=\"NO_ENDPOINT\"} 1\n"),
           std::string("\nflatwall_verdicts_total{verdict=\"deny\",reason=\"DEFAULT_DENY\"} 0\n"),
           std::string("\nflatwall_events_suppressed_total 0\n"),
           std::string("\nflatwall_ringbuf_lost_total 0\n")}) {
    EXPECT_THAT(text, HasSubstr(sample));
  }
  EXPECT_THAT(text, ::testing::Not(HasSubstr("reason=\"UNKNOWN\"")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("reason=\"NONE\"")));
}

}  // namespace
}  // namespace flatwall::agent
