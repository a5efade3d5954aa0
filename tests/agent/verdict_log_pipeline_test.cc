#include "agent/daemon/verdict_log_pipeline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/verdict.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1'000'000'000;
constexpr ClockOffset kOffset{absl::Seconds(1700000000)};

compiler::IpAddress Ip(const std::string& text) { return *compiler::IpAddress::Parse(text); }

// Node-1 runs one pod, `name`, at 10.10.1.5.
compiler::MapImage OnePodImage(const std::string& name) {
  compiler::MapImage image;
  image.endpoint_info = {{Ip("10.10.1.5"), "x", name, "uid-" + name, {}}};
  image.pod_addresses = {{Ip("10.10.1.5"), "x", name, "uid-" + name, "node-1"}};
  return image;
}

fw_event DenyTo(const std::string& dst, uint64_t time_ns, uint16_t sport = 40000) {
  fw_event event{};
  event.timestamp_ns = time_ns;
  event.saddr = compiler::ToAbi(Ip("10.10.2.7"));
  event.daddr = compiler::ToAbi(Ip(dst));
  event.sport = htons(sport);
  event.dport = htons(80);
  event.protocol = IPPROTO_TCP;
  event.direction = FW_DIR_INGRESS;
  event.hook = FW_HOOK_TO_POD;
  event.verdict = FW_VERDICT_DENY;
  event.reason = FW_REASON_DEFAULT_DENY;
  event.packet_len = 60;
  return event;
}

class VerdictLogPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("flatwall-pipeline-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "verdicts.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<VerdictLogPipeline> Open(absl::Duration aggregate = absl::ZeroDuration(),
                                           uint64_t max_bytes = 0) {
    absl::StatusOr<std::unique_ptr<VerdictLogPipeline>> pipeline = VerdictLogPipeline::Open(
        {.log = {.path = path_, .max_bytes = max_bytes, .max_files = 100},
         .node_name = "node-1",
         .aggregate_interval = aggregate});
    EXPECT_THAT(pipeline, testing::IsOk());
    return pipeline.ok() ? *std::move(pipeline) : nullptr;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::vector<json> Records(const std::string& path) {
    std::vector<json> records;
    for (absl::string_view line : absl::StrSplit(Read(path), '\n', absl::SkipEmpty())) {
      records.push_back(json::parse(line));
    }
    return records;
  }
  // The active file and every rotation of it.
  std::vector<LogFileText> AllFiles() {
    std::vector<LogFileText> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      files.push_back({entry.path().filename().string(), Read(entry.path().string())});
    }
    return files;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(VerdictLogPipelineTest, OpeningWritesAStartupRecordThatStartsTheChain) {
  auto pipeline = Open();
  ASSERT_NE(pipeline, nullptr);
  std::vector<json> records = Records(path_);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["reason"], "STARTUP");
  EXPECT_EQ(records[0]["seq"], 1);
  EXPECT_EQ(records[0]["prev_hash"], kGenesisHash);
}

// The address moves from pod a to pod b between the packet and the read: the record
// names the pod that had it when the packet was judged.
TEST_F(VerdictLogPipelineTest, ReusedAddressIsAttributedToItsOwnerAtThePacketsTime) {
  auto pipeline = Open();
  ASSERT_NE(pipeline, nullptr);
  pipeline->SetImage(OnePodImage("a"), 100 * kSecond);
  const fw_event before_move = DenyTo("10.10.1.5", 150 * kSecond);
  pipeline->SetImage(OnePodImage("b"), 200 * kSecond);
  const fw_event after_move = DenyTo("10.10.1.5", 250 * kSecond);
  FW_ASSERT_OK(pipeline->Write({before_move, after_move}, kOffset));

  std::vector<json> records = Records(path_);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1]["dst"]["name"], "a");
  EXPECT_EQ(records[1]["dst"]["uid"], "uid-a");
  EXPECT_EQ(records[2]["dst"]["name"], "b");
  EXPECT_EQ(records[2]["dst"]["uid"], "uid-b");
}

TEST_F(VerdictLogPipelineTest, SuppressedEventsAreReportedBeforeTheEventThatCarriesThem) {
  auto pipeline = Open();
  ASSERT_NE(pipeline, nullptr);
  pipeline->SetImage(OnePodImage("a"), 0);
  fw_event event = DenyTo("10.10.1.5", 5 * kSecond);
  event.suppressed = 1234;
  FW_ASSERT_OK(pipeline->Write({event}, kOffset));

  std::vector<json> records = Records(path_);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1]["reason"], "SUPPRESSED");
  EXPECT_EQ(records[1]["count"], 1234);
  EXPECT_EQ(records[1]["endpoint"]["name"], "a");
  EXPECT_EQ(records[2]["reason"], "DEFAULT_DENY");
  EXPECT_EQ(records[2]["seq"], 3);
}

// A flood from one flow: one record at once, one aggregate with the counts when the
// interval ends, and every suppressed event reported.
TEST_F(VerdictLogPipelineTest, FloodOfOneFlowIsAggregatedAndNothingIsLostSilently) {
  auto pipeline = Open(absl::Seconds(5));
  ASSERT_NE(pipeline, nullptr);
  pipeline->SetImage(OnePodImage("a"), 0);
  std::vector<fw_event> flood;
  uint64_t suppressed = 0;
  for (int i = 0; i < 200; ++i) {
    fw_event event = DenyTo("10.10.1.5", 10 * kSecond + i * 10'000'000ull);
    event.suppressed = i % 50 == 49 ? 1000 : 0;  // the rate limit dropped some
    suppressed += event.suppressed;
    flood.push_back(event);
  }
  FW_ASSERT_OK(pipeline->Write(flood, kOffset));
  FW_ASSERT_OK(pipeline->Flush(16 * kSecond, kOffset));

  uint64_t packets = 0, reported_suppressed = 0, verdict_records = 0;
  json aggregate;
  for (const json& record : Records(path_)) {
    if (record["reason"] == "SUPPRESSED") reported_suppressed += record["count"].get<uint64_t>();
    if (record["reason"] != "DEFAULT_DENY") continue;
    ++verdict_records;
    packets += record["packets"].get<uint64_t>();
    if (record.contains("time_end")) aggregate = record;
  }
  EXPECT_EQ(verdict_records, 2u);
  EXPECT_EQ(packets, 200u);
  EXPECT_EQ(reported_suppressed, suppressed);
  EXPECT_EQ(aggregate["packets"], 199);
  EXPECT_EQ(aggregate["bytes"], 199 * 60);
  EXPECT_EQ(aggregate["time"], "2023-11-14T22:13:30.010000000Z");
  EXPECT_EQ(aggregate["time_end"], "2023-11-14T22:13:31.990000000Z");
}

TEST_F(VerdictLogPipelineTest, ChainContinuesAcrossRotationsAndRestarts) {
  for (int run = 0; run < 2; ++run) {
    auto pipeline = Open(absl::ZeroDuration(), /*max_bytes=*/1500);
    ASSERT_NE(pipeline, nullptr);
    pipeline->SetImage(OnePodImage("a"), 0);
    for (uint16_t i = 0; i < 10; ++i) {
      FW_ASSERT_OK(pipeline->Write({DenyTo("10.10.1.5", i * kSecond, 40000 + i)}, kOffset));
    }
  }
  std::vector<LogFileText> files = AllFiles();
  EXPECT_GT(files.size(), 3u);  // rotated
  ChainReport report = VerifyChain(files);
  EXPECT_TRUE(report.ok) << report.location << ": " << report.problem;
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.records, 22u);  // two STARTUP records and 20 verdicts
}

TEST_F(VerdictLogPipelineTest, UpgradedAgentContinuesTheChainOfAFileOfTheOlderSchema) {
  ChainLink link;
  for (const char* text : {
           R"({"schema":2,"time":"2023-11-14T22:13:20Z","node":"node-1","reason":"STARTUP"})",
           R"({"schema":2,"time":"2023-11-14T22:13:21Z","node":"node-1","verdict":"deny",
               "reason":"DEFAULT_DENY","isolated_by":["x/deny-all"],"packets":1})"}) {
    json record = json::parse(text);
    std::ofstream(path_, std::ios::app) << SealRecord(record, link) << "\n";
  }
  auto pipeline = Open();
  ASSERT_NE(pipeline, nullptr);
  compiler::MapImage image = OnePodImage("a");
  image.endpoint_info[0].isolating_policies[FW_DIR_INGRESS] = {"x/deny-all"};
  image.policy_table = {{"x", "deny-all", "uid-deny-all", 2}};
  pipeline->SetImage(image, 0);
  FW_ASSERT_OK(pipeline->Write({DenyTo("10.10.1.5", kSecond)}, kOffset));

  std::vector<json> records = Records(path_);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[2]["reason"], "STARTUP");
  EXPECT_EQ(records[2]["seq"], 3);
  EXPECT_FALSE(records[2].contains("chain_restart"));
  EXPECT_EQ(records[3]["schema"], kVerdictLogSchema);
  EXPECT_EQ(records[3]["isolated_by"], json::parse(R"([
    {"namespace": "x", "name": "deny-all", "uid": "uid-deny-all", "generation": 2}])"));
  ChainReport report = VerifyChain(AllFiles());
  EXPECT_TRUE(report.ok) << report.location << ": " << report.problem;
  EXPECT_EQ(report.records, 4u);
}

TEST_F(VerdictLogPipelineTest, RestartAfterADamagedLastLineRestartsTheChainAndSaysWhy) {
  std::ofstream(path_) << "{\"not\":\"sealed\"}\n";
  auto pipeline = Open();
  ASSERT_NE(pipeline, nullptr);
  std::vector<json> records = Records(path_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["reason"], "STARTUP");
  EXPECT_EQ(records[1]["seq"], 1);
  EXPECT_THAT(records[1]["chain_restart"].get<std::string>(), HasSubstr("not a sealed record"));
}

}  // namespace
}  // namespace flatwall::agent
