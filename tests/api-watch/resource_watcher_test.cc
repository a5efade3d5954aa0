#include "api-watch/resource_watcher.h"

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A transport that answers from a script, in order, and records each request as
// "GET /api/v1/pods?limit=2" or "WATCH /api/v1/pods?watch=1&...".
class ScriptedTransport : public ApiTransport {
 public:
  struct Reply {
    absl::StatusOr<ApiResponse> response;
    std::vector<std::string> chunks;  // a watch body, handed over before `response`
  };

  void Add(absl::StatusOr<ApiResponse> response, std::vector<std::string> chunks = {}) {
    replies_.push_back({std::move(response), std::move(chunks)});
  }

  absl::StatusOr<ApiResponse> Get(const std::string& path, const QueryParams& query) override {
    return Answer("GET", path, query, nullptr);
  }
  absl::StatusOr<ApiResponse> Watch(const std::string& path, const QueryParams& query,
                                    const ByteSink& on_bytes) override {
    return Answer("WATCH", path, query, &on_bytes);
  }

  const std::vector<std::string>& requests() const { return requests_; }
  bool done() const { return replies_.empty(); }

 private:
  absl::StatusOr<ApiResponse> Answer(const char* verb, const std::string& path,
                                     const QueryParams& query, const ByteSink* on_bytes) {
    requests_.push_back(
        absl::StrCat(verb, " ", path, "?", absl::StrJoin(query, "&", absl::PairFormatter("="))));
    if (replies_.empty()) return absl::InternalError("script exhausted");
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    if (on_bytes != nullptr) {
      for (const std::string& chunk : reply.chunks) (*on_bytes)(chunk);
    }
    return reply.response;
  }

  std::deque<Reply> replies_;
  std::vector<std::string> requests_;
};

std::string Pod(const std::string& name, const std::string& version, const std::string& ip) {
  return absl::StrCat(R"({"metadata":{"name":")", name, R"(","namespace":"x","resourceVersion":")",
                      version, R"("},"spec":{"nodeName":"n1"},"status":{"podIP":")", ip, R"("}})");
}

// A pod with metadata labels and annotations (JSON object texts); the model keeps the
// labels, not the annotations.
std::string LabeledPod(const std::string& name, const std::string& version,
                       const std::string& labels, const std::string& annotations) {
  return absl::StrCat(R"({"metadata":{"name":")", name, R"(","namespace":"x","resourceVersion":")",
                      version, R"(","labels":)", labels, R"(,"annotations":)", annotations,
                      R"(},"spec":{"nodeName":"n1"},"status":{"podIP":"10.0.0.1"}})");
}

ApiResponse ListBody(const std::string& version, const std::vector<std::string>& items,
                     const std::string& continue_token = "") {
  return {200, absl::StrCat(R"({"kind":"PodList","metadata":{"resourceVersion":")", version,
                            R"(","continue":")", continue_token, R"("},"items":[)",
                            absl::StrJoin(items, ","), "]}")};
}

std::string Event(const std::string& type, const std::string& object) {
  return absl::StrCat(R"({"type":")", type, R"(","object":)", object, "}\n");
}

std::string Bookmark(const std::string& version) {
  return Event("BOOKMARK",
               absl::StrCat(R"({"kind":"Pod","metadata":{"resourceVersion":")", version, R"("}})"));
}

std::string Expired() {
  return Event(
      "ERROR",
      R"json({"kind":"Status","status":"Failure","message":"too old resource version: 1 (40)","reason":"Expired","code":410})json");
}

ApiResponse Status(int code, const std::string& message) {
  return {code, absl::StrCat(R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":")",
                             message, R"(","code":)", code, "}")};
}

class ResourceWatcherTest : public ::testing::Test {
 protected:
  ResourceWatcherTest() {
    options_.page_size = 2;
    options_.watch_timeout_seconds = 290;
    options_.random = [this] { return random_; };
    options_.on_problem = [this](const absl::Status& status) { problems_.push_back(status); };
  }

  ResourceWatcher& watcher() {
    if (!watcher_) {
      watcher_ = std::make_unique<ResourceWatcher>(
          ResourceKind::kPod, transport_,
          [this](compiler::EventBatches batches) {
            for (std::vector<compiler::ClusterEvent>& batch : batches) {
              for (compiler::ClusterEvent& event : batch) {
                emitted_.push_back(absl::StrCat(
                    event.kind == compiler::ClusterEvent::kDelete ? "delete " : "upsert ",
                    compiler::ObjectKey(event.object)));
                emitted_events_.push_back(std::move(event));
              }
            }
          },
          options_);
    }
    return *watcher_;
  }

  // Takes what was emitted since the last call.
  std::vector<std::string> Emitted() { return std::exchange(emitted_, {}); }

  ScriptedTransport transport_;
  ResourceWatcherOptions options_;
  double random_ = 0.5;  // no jitter
  std::vector<absl::Status> problems_;
  std::vector<std::string> emitted_;
  std::vector<compiler::ClusterEvent> emitted_events_;  // all of them, never taken
  std::unique_ptr<ResourceWatcher> watcher_;
};

TEST_F(ResourceWatcherTest, ListsEveryPageThenWatchesFromTheListVersion) {
  transport_.Add(ListBody("10", {Pod("a", "3", "10.0.0.1"), Pod("b", "4", "10.0.0.2")}, "page2"));
  transport_.Add(ListBody("11", {Pod("c", "5", "10.0.0.3")}));
  transport_.Add(ApiResponse{200});

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_TRUE(watcher().synced());
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/a", "upsert x/b", "upsert x/c"));
  EXPECT_EQ(watcher().resource_version(), "11");

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  EXPECT_THAT(transport_.requests(),
              ElementsAre("GET /api/v1/pods?limit=2", "GET /api/v1/pods?limit=2&continue=page2",
                          "WATCH /api/v1/pods?watch=1&resourceVersion=11&"
                          "allowWatchBookmarks=true&timeoutSeconds=290"));
  EXPECT_EQ(watcher().counters().list_pages, 2u);
}

// A list never gathers every object into one array: its deletes, then each page's changes,
// arrive as batches (no empty one), all in one call so that they are applied together.
TEST_F(ResourceWatcherTest, ListHandsOverItsDeletesThenEachPageAsABatchInOneCall) {
  std::vector<std::vector<std::vector<std::string>>> calls;
  ResourceWatcher watcher(
      ResourceKind::kPod, transport_,
      [&](compiler::EventBatches batches) {
        std::vector<std::vector<std::string>>& call = calls.emplace_back();
        for (const std::vector<compiler::ClusterEvent>& events : batches) {
          std::vector<std::string>& batch = call.emplace_back();
          for (const compiler::ClusterEvent& event : events) {
            batch.push_back(absl::StrCat(
                event.kind == compiler::ClusterEvent::kDelete ? "-" : "+",
                compiler::ObjectKey(event.object)));
          }
        }
      },
      options_);
  transport_.Add(ListBody("10", {Pod("a", "1", "10.0.0.1"), Pod("b", "2", "10.0.0.2")}, "p2"));
  transport_.Add(ListBody("10", {Pod("c", "3", "10.0.0.3"), Pod("d", "4", "10.0.0.4")}, "p3"));
  transport_.Add(ListBody("10", {Pod("e", "5", "10.0.0.5")}));
  transport_.Add(Status(410, "too old resource version"));
  transport_.Add(ListBody("50", {Pod("a", "1", "10.0.0.1"), Pod("b", "45", "10.0.0.22")}, "p2"));
  transport_.Add(ListBody("50", {Pod("d", "4", "10.0.0.4")}, "p3"));
  transport_.Add(ListBody("50", {Pod("f", "46", "10.0.0.6")}));

  watcher.Step();
  EXPECT_THAT(calls, ElementsAre(ElementsAre(ElementsAre("+x/a", "+x/b"),
                                             ElementsAre("+x/c", "+x/d"), ElementsAre("+x/e"))));
  calls.clear();
  watcher.Step();  // 410
  watcher.Step();  // the relist: page 2 holds no change, so no batch of its own
  FW_EXPECT_OK(watcher.last_status());
  EXPECT_THAT(calls, ElementsAre(ElementsAre(ElementsAre("-x/c", "-x/e"), ElementsAre("+x/b"),
                                             ElementsAre("+x/f"))));
  EXPECT_EQ(watcher.known_count(), 4u);
  EXPECT_EQ(watcher.counters().events_emitted, 9u);  // 5 listed, then 2 deletes and 2 changes
}

TEST_F(ResourceWatcherTest, WatchEmitsChangesOnlyAndResumesFromTheLastVersionSeen) {
  transport_.Add(ListBody("10", {Pod("a", "3", "10.0.0.1")}));
  transport_.Add(ApiResponse{200},
                 {Event("ADDED", Pod("b", "12", "10.0.0.2")),
                  // Split inside a line: nothing is emitted until it completes.
                  Event("MODIFIED", Pod("a", "13", "10.0.0.9")).substr(0, 30),
                  Event("MODIFIED", Pod("a", "13", "10.0.0.9")).substr(30),
                  Event("MODIFIED", Pod("a", "14", "10.0.0.9")),  // nothing the model holds
                  Event("DELETED", Pod("b", "15", "10.0.0.2")),
                  Event("DELETED", Pod("zz", "16", "10.0.0.7")),  // never known
                  Bookmark("20")});
  transport_.Add(ApiResponse{200});
  watcher().Step();
  Emitted();

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/b", "upsert x/a", "delete x/b"));
  EXPECT_EQ(watcher().resource_version(), "20");
  EXPECT_EQ(std::get<compiler::Pod>(emitted_events_.at(2).object).ips[0].ToString(), "10.0.0.9");
  EXPECT_TRUE(watcher().Knows("x/a"));
  EXPECT_FALSE(watcher().Knows("x/b"));
  EXPECT_EQ(watcher().known_count(), 1u);

  watcher().Step();
  EXPECT_THAT(transport_.requests().back(), HasSubstr("resourceVersion=20&"));
}

TEST_F(ResourceWatcherTest, GoneEventRelistsAndEmitsOnlyTheDifferences) {
  transport_.Add(ListBody(
      "10", {Pod("a", "1", "10.0.0.1"), Pod("b", "2", "10.0.0.2"), Pod("c", "3", "10.0.0.3")}));
  transport_.Add(ApiResponse{200}, {Expired(), Event("ADDED", Pod("late", "41", "10.0.0.4"))});
  transport_.Add(ListBody("50", {Pod("a", "1", "10.0.0.1"), Pod("b", "45", "10.0.0.22")}, "p2"));
  transport_.Add(ListBody("50", {Pod("d", "46", "10.0.0.4")}));
  watcher().Step();
  Emitted();

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  EXPECT_THAT(watcher().last_status(), StatusIs(absl::StatusCode::kAborted, HasSubstr("410")));
  EXPECT_THAT(Emitted(), IsEmpty());  // nothing after the ERROR event counts
  EXPECT_EQ(watcher().resource_version(), "");

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_THAT(Emitted(), ElementsAre("delete x/c", "upsert x/b", "upsert x/d"));
  EXPECT_EQ(watcher().resource_version(), "50");
  EXPECT_EQ(watcher().counters().expired, 1u);
  EXPECT_EQ(watcher().counters().lists, 2u);
}

TEST_F(ResourceWatcherTest, RelistEmitsOnlyChangesTheModelSeesAndDeletesByIdentity) {
  const std::string web = R"({"app":"web"})";
  transport_.Add(ListBody("10", {LabeledPod("a", "1", web, R"({"note":"1"})"),
                                 LabeledPod("b", "2", web, R"({"note":"1"})"),
                                 LabeledPod("c", "3", web, "{}")}));
  transport_.Add(Status(410, "too old resource version"));
  transport_.Add(ListBody("50", {LabeledPod("a", "41", R"({"app":"db"})", R"({"note":"1"})"),
                                 LabeledPod("b", "42", web, R"({"note":"2"})"),
                                 LabeledPod("d", "43", web, "{}")}));
  transport_.Add(ApiResponse{200}, {Event("MODIFIED", LabeledPod("b", "51", web, R"({"n":"3"})")),
                                    Event("MODIFIED", LabeledPod("b", "52", "{}", R"({"n":"3"})"))});
  watcher().Step();
  Emitted();
  emitted_events_.clear();

  watcher().Step();  // 410
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  FW_EXPECT_OK(watcher().last_status());
  // a: a label changed; b: only an annotation (dropped) changed; c: gone; d: new.
  EXPECT_THAT(Emitted(), ElementsAre("delete x/c", "upsert x/a", "upsert x/d"));
  ASSERT_EQ(emitted_events_.size(), 3u);
  const auto* deleted = std::get_if<compiler::Pod>(&emitted_events_[0].object);
  ASSERT_NE(deleted, nullptr);
  EXPECT_EQ(deleted->namespace_name, "x");
  EXPECT_EQ(deleted->name, "c");
  EXPECT_EQ(std::get<compiler::Pod>(emitted_events_[1].object).labels.at("app"), "db");
  EXPECT_EQ(watcher().known_count(), 3u);
  EXPECT_FALSE(watcher().Knows("x/c"));

  // The watch from the relist: an annotation change is dropped, a label change is not.
  watcher().Step();
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/b"));
  EXPECT_THAT(std::get<compiler::Pod>(emitted_events_.back().object).labels, IsEmpty());
}

TEST_F(ResourceWatcherTest, GoneStatusOnWatchOrExpiredContinueTokenRelistsFromScratch) {
  transport_.Add(ListBody("10", {Pod("a", "1", "10.0.0.1")}));
  transport_.Add(Status(410, "too old resource version"));
  transport_.Add(ListBody("60", {Pod("a", "1", "10.0.0.1")}, "p2"));
  transport_.Add(Status(410, "The provided continue parameter is too old"));
  transport_.Add(ListBody("61", {Pod("a", "1", "10.0.0.1")}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  EXPECT_TRUE(transport_.done());
  EXPECT_THAT(
      transport_.requests(),
      ElementsAre("GET /api/v1/pods?limit=2", HasSubstr("WATCH"), "GET /api/v1/pods?limit=2",
                  "GET /api/v1/pods?limit=2&continue=p2", "GET /api/v1/pods?limit=2"));
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/a"));  // the relists changed nothing
  EXPECT_EQ(watcher().resource_version(), "61");
}

TEST_F(ResourceWatcherTest, GarbageLinesAreSkippedCountedAndReported) {
  transport_.Add(ListBody("10", {}));
  transport_.Add(ApiResponse{200}, {"{garbage\n", Event("ADDED", Pod("b", "11", "not-an-ip")),
                                    Event("ADDED", Pod("c", "12", "10.0.0.3"))});
  watcher().Step();
  watcher().Step();
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/c"));
  EXPECT_EQ(watcher().counters().malformed, 2u);
  EXPECT_THAT(problems_,
              ElementsAre(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not JSON")),
                          StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("Pod x/b: status.podIP"))));
  EXPECT_EQ(watcher().resource_version(), "12");
}

TEST_F(ResourceWatcherTest, ListItemThatDoesNotDecodeKeepsItsLastGoodVersion) {
  transport_.Add(ListBody("10", {Pod("a", "1", "10.0.0.1"), Pod("b", "2", "10.0.0.2")}));
  transport_.Add(Status(410, "gone"));
  transport_.Add(ListBody("20", {Pod("a", "1", "10.0.0.1"), Pod("b", "3", "garbage")}));
  for (int i = 0; i < 3; ++i) watcher().Step();
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/a", "upsert x/b"));
  EXPECT_TRUE(watcher().Knows("x/b"));
  EXPECT_EQ(problems_.size(), 1u);
}

TEST_F(ResourceWatcherTest, FailuresBackOffExponentiallyCappedThenRecover) {
  options_.backoff.initial = absl::Seconds(1);
  options_.backoff.max = absl::Seconds(10);
  transport_.Add(Status(500, "etcdserver: leader changed"));
  transport_.Add(absl::UnavailableError("connection refused"));
  transport_.Add(Status(503, "unavailable"));
  transport_.Add(Status(429, "too many requests"));
  transport_.Add(absl::DeadlineExceededError("timed out"));
  transport_.Add(ApiResponse{200, "<html>proxy error</html>"});
  transport_.Add(ListBody("10", {}));
  transport_.Add(Status(502, "bad gateway"));

  std::vector<absl::Duration> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(watcher().Step());
  EXPECT_THAT(delays, ElementsAre(absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                  absl::Seconds(8), absl::Seconds(10), absl::Seconds(10),
                                  absl::ZeroDuration(), absl::Seconds(1)));
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("watch pods (/api/v1/pods): HTTP 502: bad gateway")));
  EXPECT_EQ(watcher().counters().failures, 7u);
}

TEST_F(ResourceWatcherTest, JitterSpreadsDelaysAroundTheBackoff) {
  struct Case {
    double random;
    absl::Duration want;
  };
  for (const Case& c :
       {Case{0.0, absl::Milliseconds(800)}, Case{0.999999, absl::Milliseconds(1200)},
        Case{0.75, absl::Milliseconds(1100)}}) {
    SCOPED_TRACE(c.random);
    random_ = c.random;
    ScriptedTransport transport;
    transport.Add(absl::UnavailableError("connection reset"));
    ResourceWatcher watcher(
        ResourceKind::kPod, transport, [](auto) {}, options_);
    EXPECT_LE(absl::AbsDuration(watcher.Step() - c.want), absl::Milliseconds(1));
  }
}

TEST_F(ResourceWatcherTest, AuthFailuresAreReportedClearlyAndRetriedSlowly) {
  options_.backoff.auth_retry = absl::Seconds(60);
  options_.identity = "kubeconfig /etc/flatwall/kubeconfig context n1 user system:node:n1";
  transport_.Add(Status(
      403,
      R"(pods is forbidden: User \"system:serviceaccount:kube-system:flatwall\" cannot list resource \"pods\" in API group \"\" at the cluster scope)"));
  transport_.Add(Status(401, "Unauthorized"));
  EXPECT_EQ(watcher().Step(), absl::Seconds(60));
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("list pods (/api/v1/pods): HTTP 403 Forbidden as kubeconfig "
                                 "/etc/flatwall/kubeconfig context n1 user system:node:n1: pods "
                                 "is forbidden: User "
                                 "\"system:serviceaccount:kube-system:flatwall\" cannot list")));
  EXPECT_EQ(watcher().Step(), absl::Seconds(60));
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("list pods (/api/v1/pods): HTTP 401 Unauthorized as kubeconfig "
                                 "/etc/flatwall/kubeconfig context n1 user system:node:n1: "
                                 "Unauthorized")));
  EXPECT_FALSE(watcher().synced());
}

TEST_F(ResourceWatcherTest, MidStreamDisconnectResumesFromTheLastEventAfterAShortBackoff) {
  transport_.Add(ListBody("10", {}));
  transport_.Add(absl::UnavailableError("connection reset"));  // a failure before any event
  transport_.Add(absl::UnavailableError("connection reset by peer"),
                 {Event("ADDED", Pod("a", "30", "10.0.0.1")), R"({"type":"ADDED","obj)"});
  transport_.Add(ApiResponse{200}, {Event("ADDED", Pod("b", "31", "10.0.0.2"))});
  watcher().Step();
  EXPECT_EQ(watcher().Step(), absl::Seconds(1));
  // Events arrived before the break: the backoff starts over rather than growing.
  EXPECT_EQ(watcher().Step(), absl::Seconds(1));
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reset")));
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/a", "upsert x/b"));
  EXPECT_THAT(transport_.requests().back(), HasSubstr("resourceVersion=30&"));
}

TEST_F(ResourceWatcherTest, StreamEndingInsideAnEventIsAFailure) {
  transport_.Add(ListBody("10", {}));
  transport_.Add(ApiResponse{200}, {R"({"type":"ADDED")"});
  watcher().Step();
  EXPECT_GT(watcher().Step(), absl::ZeroDuration());
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ended inside an event")));
}

TEST_F(ResourceWatcherTest, RunSleepsBetweenStepsUntilStopped) {
  transport_.Add(absl::UnavailableError("connection refused"));
  transport_.Add(ListBody("10", {Pod("a", "1", "10.0.0.1")}));
  transport_.Add(ApiResponse{200});
  std::vector<absl::Duration> sleeps;
  watcher().Run([&] { return transport_.done(); },
                [&](absl::Duration delay) { sleeps.push_back(delay); });
  EXPECT_THAT(sleeps, ElementsAre(absl::Seconds(1)));
  EXPECT_THAT(Emitted(), ElementsAre("upsert x/a"));
}

}  // namespace
}  // namespace flatwall::apiwatch
