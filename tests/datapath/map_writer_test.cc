// MapWriter against the real maps: a diff in make-before-break order with a generation
// bump, idempotent deletes, endpoint deletes taking their counters along, Services, and
// ResourceExhausted naming the full map.
#include "agent/map_writer.h"

#include <bpf/bpf.h>
#include <netinet/in.h>

#include "agent/datapath_stats.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/rule_shapes.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the tests' vocabulary
using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

class MapWriterTest : public DatapathTest {
 protected:
  template <typename Key, typename Value>
  bool Lookup(DatapathMap map, const Key& key, Value* value) {
    return bpf_map_lookup_elem(datapath_->map_fd(map), &key, value) == 0;
  }
  std::string ReasonOf(fw_hook hook, const std::vector<uint8_t>& frame) {
    ClearFlows();
    return std::to_string(Run(hook, frame).reason);
  }
};

TEST_F(MapWriterTest, ApplySwitchesAnEndpointToANewRulesetAndBumpsTheGeneration) {
  Seed(StandardTables());
  const uint32_t generation = Config().generation;
  const std::vector<uint8_t> to_81 =
      PacketBuilder(Ip(kClient), Ip(kServer)).Tcp(40000, 81).Build();
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, to_81), std::to_string(FW_REASON_DEFAULT_DENY));

  // The compiler's diff for "also allow port 81": a new ruleset 70 with both rules, the
  // endpoint flipped to it, the old ruleset's rules deleted.
  compiler::MapDiff diff;
  for (const uint16_t port : {80, 81}) {
    diff.rules.upserts.push_back(MakeRule({.ruleset = 70, .direction = FW_DIR_INGRESS,
                                           .kind = FW_REMOTE_IDENTITY, .remote = kClientId,
                                           .protocol = IPPROTO_TCP, .port = port,
                                           .rule_id = 400u + port}));
  }
  compiler::EndpointEntry server = MakeEndpoint(
      {kServer, kServerId, 70, FW_EP_ISOLATED_INGRESS, FW_RULES_HAVE_IDENTITY, 0});
  diff.endpoints.upserts.push_back(server);
  ::flatwall::testing::AddRuleShapes(diff.rules.upserts, diff.endpoints.upserts);
  server = diff.endpoints.upserts.back();
  for (const compiler::RuleEntry& rule : StandardTables().rules) {
    if (rule.key.ruleset == kServerRules) diff.rules.deletes.push_back(rule.key);
  }
  FW_ASSERT_OK(writer_->Apply(diff));

  EXPECT_EQ(Config().generation, generation + 1);
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, to_81), std::to_string(FW_REASON_RULE));
  fw_rule_value value{};
  EXPECT_FALSE(Lookup(RuleMapOf(StandardTables().rules[0].key), StandardTables().rules[0].key,
                      &value));
  fw_endpoint_value endpoint{};
  ASSERT_TRUE(Lookup(DatapathMap::kEndpoints, server.key, &endpoint));
  EXPECT_EQ(endpoint.ruleset, 70u);
}

TEST_F(MapWriterTest, DeletingMissingKeysIsNotAnError) {
  FW_EXPECT_OK(writer_->Delete(std::vector<fw_rule_key>{MakeRule({.ruleset = 1}).key}));
  FW_EXPECT_OK(writer_->Delete(std::vector<fw_endpoint_key>{{AbiAddr(kServer)}}));
  FW_EXPECT_OK(writer_->Delete(std::vector<fw_ipcache_key>{{AbiAddr(kServer)}}));
  FW_EXPECT_OK(writer_->Delete(std::vector<fw_cidr_key>{MakeCidr("10.0.0.0/8", 1).key}));
  FW_EXPECT_OK(writer_->DeleteServices({Ip(kClusterIp)}));
}

TEST_F(MapWriterTest, DeletedEndpointTakesItsCountersAlong) {
  Seed(StandardTables());
  Run(FW_HOOK_TO_POD, PacketBuilder(Ip(kClient), Ip(kServer)).Tcp(40000, 81).Build());
  absl::StatusOr<fw_counter_value> before =
      ReadEndpointCounter(*datapath_, Ip(kServer), FW_DIR_INGRESS, FW_REASON_DEFAULT_DENY);
  FW_ASSERT_OK(before);
  EXPECT_EQ(before->packets, 1u);

  FW_ASSERT_OK(writer_->Delete(std::vector<fw_endpoint_key>{{AbiAddr(kServer)}}));
  absl::StatusOr<fw_counter_value> after =
      ReadEndpointCounter(*datapath_, Ip(kServer), FW_DIR_INGRESS, FW_REASON_DEFAULT_DENY);
  FW_ASSERT_OK(after);
  EXPECT_EQ(after->packets, 0u);
}

TEST_F(MapWriterTest, ServicesAreWrittenAndDeleted) {
  FW_ASSERT_OK(writer_->UpsertServices({Ip(kClusterIp), Ip(kClusterIp6)}));
  fw_service_value value{};
  EXPECT_TRUE(Lookup(DatapathMap::kServices, fw_service_key{AbiAddr(kClusterIp6)}, &value));
  EXPECT_EQ(value.flags, static_cast<uint32_t>(FW_SVC_CLUSTER_IP));
  FW_ASSERT_OK(writer_->DeleteServices({Ip(kClusterIp6)}));
  EXPECT_FALSE(Lookup(DatapathMap::kServices, fw_service_key{AbiAddr(kClusterIp6)}, &value));
  EXPECT_TRUE(Lookup(DatapathMap::kServices, fw_service_key{AbiAddr(kClusterIp)}, &value));
}

TEST_F(MapWriterTest, FullMapIsResourceExhaustedNamingTheMapAndKeepsTheGeneration) {
  std::vector<compiler::EndpointEntry> endpoints;
  for (uint32_t i = 0; i <= FW_MAX_ENDPOINTS; ++i) {
    compiler::EndpointEntry entry{};
    entry.key.addr.bytes[0] = 0xfd;
    entry.key.addr.bytes[12] = i >> 24;
    entry.key.addr.bytes[13] = i >> 16;
    entry.key.addr.bytes[14] = i >> 8;
    entry.key.addr.bytes[15] = i;
    endpoints.push_back(entry);
  }
  compiler::MapDiff diff;
  diff.endpoints.upserts = endpoints;
  const uint32_t generation = Config().generation;
  EXPECT_THAT(writer_->Apply(diff), StatusIs(absl::StatusCode::kResourceExhausted,
                                             HasSubstr("fw_endpoints_v2")));
  EXPECT_EQ(Config().generation, generation);
}

TEST_F(MapWriterTest, BumpGenerationCountsUp) {
  const uint32_t generation = Config().generation;
  absl::StatusOr<uint32_t> next = writer_->BumpGeneration();
  FW_ASSERT_OK(next);
  EXPECT_EQ(*next, generation + 1);
  EXPECT_EQ(Config().generation, generation + 1);
}

}  // namespace
}  // namespace flatwall::agent::testing
