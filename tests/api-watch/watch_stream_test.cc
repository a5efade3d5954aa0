#include "api-watch/watch_stream.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string PodJson(const std::string& name, const std::string& version, const std::string& ip) {
  return absl::StrCat(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")", name,
                      R"(","namespace":"x","resourceVersion":")", version,
                      R"(","labels":{"app":"a"}},"spec":{"nodeName":"node-a"},)",
                      R"("status":{"podIP":")", ip, R"("}})");
}

std::string EventLine(const std::string& type, const std::string& object) {
  return absl::StrCat(R"({"type":")", type, R"(","object":)", object, "}\n");
}

// One line per result: what a test compares.
std::string Summary(const absl::StatusOr<WatchEvent>& result) {
  if (!result.ok()) return absl::StrCat("error: ", result.status().message());
  const WatchEvent& event = *result;
  std::string summary =
      absl::StrCat("type ", static_cast<int>(event.type), " rv ", event.resource_version);
  if (event.event) {
    absl::StrAppend(&summary,
                    event.event->kind == compiler::ClusterEvent::kDelete ? " delete " : " upsert ",
                    compiler::ObjectKey(event.event->object));
  }
  if (event.type == WatchEvent::Type::kError) {
    absl::StrAppend(&summary, " code ", event.error_code, " ", event.error_message);
  }
  return summary;
}

std::vector<std::string> FeedPieces(const std::vector<std::string_view>& pieces) {
  WatchStreamParser parser(ResourceKind::kPod);
  std::vector<absl::StatusOr<WatchEvent>> results;
  for (std::string_view piece : pieces) parser.Feed(piece, results);
  std::vector<std::string> summaries;
  for (const auto& result : results) summaries.push_back(Summary(result));
  return summaries;
}

const std::string& SampleStream() {
  static const std::string* const kStream = new std::string(absl::StrCat(
      EventLine("ADDED", PodJson("a", "11", "10.0.0.1")),
      EventLine("MODIFIED", PodJson("a", "12", "10.0.0.2")), "\r\n", "not json at all\n",
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"13"}}})",
      "\r\n", EventLine("DELETED", PodJson("a", "14", "10.0.0.2")),
      R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)",
      R"json("message":"too old resource version: 5 (14)","reason":"Expired","code":410}})json",
      "\n"));
  return *kStream;
}

TEST(WatchStreamParserTest, DecodesEveryEventTypeInOrder) {
  EXPECT_THAT(FeedPieces({SampleStream()}),
              ElementsAre("type 0 rv 11 upsert x/a", "type 1 rv 12 upsert x/a",
                          HasSubstr("error: watch event not JSON"), "type 3 rv 13",
                          "type 2 rv 14 delete x/a",
                          "type 4 rv  code 410 too old resource version: 5 (14)"));
}

TEST(WatchStreamParserTest, ChunkBoundaryAtEveryByteGivesTheSameEvents) {
  const std::string& stream = SampleStream();
  std::vector<std::string> whole = FeedPieces({stream});
  for (size_t split = 0; split <= stream.size(); ++split) {
    SCOPED_TRACE(split);
    std::string_view view = stream;
    ASSERT_EQ(FeedPieces({view.substr(0, split), view.substr(split)}), whole);
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(FeedPieces(bytes), whole);
}

TEST(WatchStreamParserTest, MalformedLinesAreReportedAndParsingGoesOn) {
  struct Case {
    std::string line;
    std::string want;
  };
  std::vector<Case> cases = {
      {"{\"type\":\"ADDED\"\n", "not JSON"},
      {EventLine("RENAMED", PodJson("b", "3", "10.0.0.3")), "unknown type \"RENAMED\""},
      {"{\"type\":\"ADDED\",\"object\":[]}\n", "without an object"},
      {EventLine("ADDED", PodJson("b", "3", "10.0.0.300")), "Pod x/b: status.podIP"},
      {EventLine("ADDED", R"({"metadata":{"name":"b","namespace":"x"},"spec":{}})"),
       "without metadata.resourceVersion"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    std::string valid = EventLine("ADDED", PodJson("ok", "9", "10.0.0.9"));
    EXPECT_THAT(FeedPieces({c.line, valid}),
                ElementsAre(HasSubstr(c.want), "type 0 rv 9 upsert x/ok"));
  }
}

TEST(WatchStreamParserTest, DeletedObjectThatDoesNotDecodeIsStillDeletedByKey) {
  std::string object =
      R"({"metadata":{"name":"b","namespace":"x","resourceVersion":"7"},"spec":5})";
  EXPECT_THAT(FeedPieces({EventLine("DELETED", object)}), ElementsAre("type 2 rv 7 delete x/b"));
}

TEST(WatchStreamParserTest, OverlongLineIsSkippedWithoutBufferingIt) {
  WatchStreamParser parser(ResourceKind::kPod, /*max_line_bytes=*/64);
  std::vector<absl::StatusOr<WatchEvent>> results;
  parser.Feed(std::string(50, 'x'), results);
  parser.Feed(std::string(50, 'x'), results);
  EXPECT_TRUE(parser.has_partial_line());
  parser.Feed("x\n{}\n", results);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_THAT(results[0],
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 64")));
  EXPECT_FALSE(results[1].ok());  // "{}" is a line of its own again
  EXPECT_FALSE(parser.has_partial_line());
}

TEST(WatchStreamParserTest, UnfinishedLineIsPendingUntilItsNewline) {
  WatchStreamParser parser(ResourceKind::kPod);
  std::vector<absl::StatusOr<WatchEvent>> results;
  std::string line = EventLine("ADDED", PodJson("a", "1", "10.0.0.1"));
  parser.Feed(std::string_view(line).substr(0, line.size() - 1), results);
  EXPECT_TRUE(results.empty());
  EXPECT_TRUE(parser.has_partial_line());
  parser.Feed("\n", results);
  EXPECT_EQ(results.size(), 1u);
  EXPECT_FALSE(parser.has_partial_line());
}

TEST(DecodeListPageTest, ReadsItemsVersionAndContinueToken) {
  std::string body = absl::StrCat(
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"500","continue":"tok"},"items":[)",
      PodJson("a", "1", "10.0.0.1"), ",", PodJson("b", "2", "10.0.0.2"), "]}");
  absl::StatusOr<ListPage> page = DecodeListPage(ResourceKind::kPod, body);
  FW_ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(compiler::ObjectKey(page->items[1]), "x/b");
  EXPECT_EQ(page->resource_version, "500");
  EXPECT_EQ(page->continue_token, "tok");
  EXPECT_TRUE(page->item_errors.empty());
}

// The parser drops bulky fields no decoder reads (managedFields, env, ...) by where they
// sit; labels and ports that happen to share their names must survive.
TEST(DecodeListPageTest, FieldsSkippedForSpeedAreOnlyThoseNoDecoderReads) {
  std::string pod = R"({"metadata":{"name":"a","namespace":"x",)"
                    R"("labels":{"env":"prod","resources":"r","managedFields":"m","volumes":"v"},)"
                    R"("managedFields":[{"manager":"kubelet","fieldsV1":{"f:metadata":{}}}]},)"
                    R"("spec":{"volumes":[{"name":"v"}],"containers":[{"name":"c",)"
                    R"("env":[{"name":"ports","value":"1"}],"resources":{"limits":{"cpu":"1"}},)"
                    R"("ports":[{"name":"env","containerPort":80}]}]},)"
                    R"("status":{"conditions":[],"podIPs":[{"ip":"10.0.0.1"}]}})";
  absl::StatusOr<ListPage> page =
      DecodeListPage(ResourceKind::kPod,
                     absl::StrCat(R"({"metadata":{"resourceVersion":"1"},"items":[)", pod, "]}"));
  FW_ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 1u);
  const auto& decoded = std::get<compiler::Pod>(page->items[0]);
  EXPECT_EQ(decoded.labels,
            (compiler::Labels{
                {"env", "prod"}, {"managedFields", "m"}, {"resources", "r"}, {"volumes", "v"}}));
  ASSERT_EQ(decoded.ports.size(), 1u);
  EXPECT_EQ(decoded.ports[0].name, "env");
  EXPECT_EQ(decoded.ips.size(), 1u);
}

TEST(DecodeListPageTest, BadItemsAreReportedAndTheRestKept) {
  std::string body = absl::StrCat(R"({"metadata":{"resourceVersion":"9"},"items":[)",
                                  PodJson("a", "1", "10.0.0.1"), R"(,{"metadata":{"name":"b",)",
                                  R"("namespace":"x"},"spec":[]},7]})");
  absl::StatusOr<ListPage> page = DecodeListPage(ResourceKind::kPod, body);
  FW_ASSERT_OK(page);
  EXPECT_EQ(page->items.size(), 1u);
  EXPECT_THAT(page->item_errors,
              ElementsAre(StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("items[1]: Pod x/b: spec: must be an object")),
                          StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("items[2]"))));
  EXPECT_THAT(page->undecodable_keys, ElementsAre("x/b"));
  EXPECT_TRUE(page->continue_token.empty());
}

TEST(DecodeListPageTest, RejectsResponsesThatAreNotLists) {
  for (const char* body : {"", "<html>", "[]", R"({"items":[]})",
                           R"({"metadata":{"resourceVersion":"1"},"items":{}})"}) {
    SCOPED_TRACE(body);
    EXPECT_THAT(DecodeListPage(ResourceKind::kPod, body),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  }
  FW_EXPECT_OK(
      DecodeListPage(ResourceKind::kPod, R"({"metadata":{"resourceVersion":"1"},"items":null})"));
}

TEST(StatusMessageOfTest, PrefersTheStatusMessage) {
  EXPECT_EQ(StatusMessageOf(R"({"kind":"Status","message":"pods is forbidden: User \"bob\""})"),
            "pods is forbidden: User \"bob\"");
  EXPECT_EQ(StatusMessageOf("upstream connect error"), "upstream connect error");
}

}  // namespace
}  // namespace flatwall::apiwatch
