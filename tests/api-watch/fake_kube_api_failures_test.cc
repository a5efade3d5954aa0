// The whole client (ResourceWatcher over HttpTransport) against the stateful fake API
// server, for every failure of issue 5: normal ends, bookmarks, 410 on a watch (status and
// ERROR event) and on a continue token, server errors and broken connections with backoff,
// 401/403, garbage on the stream, dropped streams and slow answers. Each test drives Step()
// itself and asserts the exact events and delays.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api-watch/http_transport.h"
#include "api-watch/resource_watcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/manifest_decoder.h"
#include "tests/api-watch/testing/fake_kube_api.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::apiwatch::testing::ExpiredWatchReply;
using ::flatwall::apiwatch::testing::FakeKubeApi;
using ::flatwall::apiwatch::testing::FakeKubeApiOptions;
using ::flatwall::testing::StatusIs;
using ::nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Delays are products of doubles: equal to within a microsecond.
MATCHER_P(Near, want, "") { return absl::AbsDuration(arg - want) < absl::Microseconds(1); }

json Pod(const std::string& name, const std::string& ip, const std::string& app = "web") {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"name", name},
            {"namespace", "x"},
            {"labels", {{"app", app}}},
            {"managedFields", json::array({{{"manager", "kubelet"}, {"operation", "Update"}}})}}},
          {"spec",
           {{"nodeName", "n1"},
            {"containers",
             json::array({{{"name", "c"}, {"ports", json::array({{{"containerPort", 80}}})}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

std::string Version(const json& object) {
  return object["metadata"]["resourceVersion"].get<std::string>();
}

class FakeKubeApiFailuresTest : public ::testing::Test {
 protected:
  FakeKubeApiFailuresTest() {
    // Sequential Steps need watches that end soon on their own.
    api_options_.max_watch_duration = absl::Milliseconds(300);
    api_options_.bookmark_interval = absl::ZeroDuration();
    watcher_options_.page_size = 2;
    watcher_options_.watch_timeout_seconds = 30;
    watcher_options_.backoff = {.initial = absl::Seconds(1),
                                .max = absl::Seconds(5),
                                .multiplier = 2.0,
                                .jitter = 0.2,
                                .auth_retry = absl::Seconds(60)};
    watcher_options_.random = [this] {
      double value = randoms_.empty() ? 0.5 : randoms_.front();
      if (!randoms_.empty()) randoms_.erase(randoms_.begin());
      return value;
    };
    watcher_options_.on_problem = [this](const absl::Status& status) {
      problems_.push_back(status);
    };
  }

  FakeKubeApi& api() {
    if (!api_) api_ = std::make_unique<FakeKubeApi>(api_options_);
    return *api_;
  }

  ResourceWatcher& watcher(const std::string& url = "",
                           HttpTransportOptions transport_options = {
                               .request_timeout = absl::Seconds(5),
                               .watch_timeout = absl::Seconds(5)}) {
    if (!watcher_) {
      absl::StatusOr<std::unique_ptr<HttpTransport>> transport =
          HttpTransport::Create({.server = url.empty() ? api().url() : url}, transport_options);
      EXPECT_THAT(transport, flatwall::testing::IsOk());
      transport_ = std::move(*transport);
      watcher_ = std::make_unique<ResourceWatcher>(
          ResourceKind::kPod, *transport_,
          [this](compiler::EventBatches batches) {
            for (const std::vector<compiler::ClusterEvent>& batch : batches) {
              for (const compiler::ClusterEvent& event : batch) {
                emitted_.push_back(absl::StrCat(
                    event.kind == compiler::ClusterEvent::kDelete ? "delete " : "upsert ",
                    compiler::ObjectKey(event.object)));
              }
            }
          },
          watcher_options_);
    }
    return *watcher_;
  }

  // Upserts or fails the test; returns the object's new resourceVersion.
  std::string Put(json object) {
    absl::StatusOr<json> stored = api().Upsert(std::move(object));
    EXPECT_THAT(stored, flatwall::testing::IsOk());
    return stored.ok() ? Version(*stored) : "";
  }

  std::vector<std::string> TakeEmitted() { return std::exchange(emitted_, {}); }

  // The request targets, from the `index`th on.
  std::vector<std::string> TargetsFrom(size_t index) {
    std::vector<std::string> targets;
    std::vector<testing::TestRequest> requests = api().requests();
    for (size_t i = index; i < requests.size(); ++i) targets.push_back(requests[i].target);
    return targets;
  }

  FakeKubeApiOptions api_options_;
  ResourceWatcherOptions watcher_options_;
  std::vector<double> randoms_;
  std::vector<absl::Status> problems_;
  std::vector<std::string> emitted_;
  // Destroyed in reverse: the watcher, its transport, then the server.
  std::unique_ptr<FakeKubeApi> api_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<ResourceWatcher> watcher_;
};

TEST_F(FakeKubeApiFailuresTest, ListIsPagedAndAWatchThatEndsNormallyResumesFromTheLastVersion) {
  for (const char* name : {"a", "b", "c", "d", "e"}) Put(Pod(name, "10.0.0.1"));
  const std::string listed = absl::StrCat(api().resource_version());

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  EXPECT_THAT(TakeEmitted(),
              ElementsAre("upsert x/a", "upsert x/b", "upsert x/c", "upsert x/d", "upsert x/e"));
  EXPECT_EQ(watcher().resource_version(), listed);
  EXPECT_EQ(watcher().counters().list_pages, 3u);

  Put(Pod("f", "10.0.0.6"));
  const std::string last = Put(Pod("a", "10.0.0.7"));
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());  // ends after max_watch_duration
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/f", "upsert x/a"));
  EXPECT_EQ(watcher().resource_version(), last);

  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());  // nothing new: the same version again
  EXPECT_THAT(TakeEmitted(), IsEmpty());
  std::vector<std::string> targets = TargetsFrom(3);
  ASSERT_THAT(targets, SizeIs(2));
  EXPECT_THAT(targets[0], HasSubstr(absl::StrCat("watch=1&resourceVersion=", listed, "&")));
  EXPECT_THAT(targets[1], HasSubstr(absl::StrCat("watch=1&resourceVersion=", last, "&")));
  EXPECT_THAT(targets[1], HasSubstr("allowWatchBookmarks=true&timeoutSeconds=30"));
}

TEST_F(FakeKubeApiFailuresTest, BookmarksAdvanceTheResourceVersionWithoutEvents) {
  api_options_.bookmark_interval = absl::Milliseconds(50);
  // Only timeoutSeconds ends this watch, normally.
  api_options_.max_watch_duration = absl::InfiniteDuration();
  watcher_options_.watch_timeout_seconds = 1;
  Put(Pod("a", "10.0.0.1"));
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  TakeEmitted();
  // Writes to other resources move the global version on; only bookmarks tell the watcher.
  for (const char* name : {"n1", "n2", "n3"}) {
    Put({{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", name}}}});
  }
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  EXPECT_THAT(TakeEmitted(), IsEmpty());
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_EQ(watcher().resource_version(), absl::StrCat(api().resource_version()));
  EXPECT_THAT(TargetsFrom(1), ElementsAre(HasSubstr("timeoutSeconds=1")));
}

TEST_F(FakeKubeApiFailuresTest, PolicyGenerationMovesOnlyWhenTheSpecChanges) {
  json policy = {{"kind", "NetworkPolicy"},
                 {"apiVersion", "networking.k8s.io/v1"},
                 {"metadata", {{"name", "deny"}, {"namespace", "x"}}},
                 {"spec", {{"podSelector", json::object()}}}};
  absl::StatusOr<json> created = api().Upsert(policy);
  FW_ASSERT_OK(created);
  policy["metadata"]["labels"] = {{"owner", "team-a"}};
  absl::StatusOr<json> relabelled = api().Upsert(policy);
  FW_ASSERT_OK(relabelled);
  policy["spec"]["policyTypes"] = json::array({"Ingress"});
  absl::StatusOr<json> changed = api().Upsert(policy);
  FW_ASSERT_OK(changed);
  EXPECT_EQ((*created)["metadata"]["generation"], 1);
  EXPECT_EQ((*relabelled)["metadata"]["generation"], 1);
  EXPECT_EQ((*changed)["metadata"]["generation"], 2);
  EXPECT_EQ((*changed)["metadata"]["uid"], (*created)["metadata"]["uid"]);
  EXPECT_EQ(Version(*changed), "3");
}

TEST_F(FakeKubeApiFailuresTest, ExpiredWatchRelistsAndEmitsOnlyTheDifferences) {
  for (ExpiredWatchReply reply : {ExpiredWatchReply::kHttpStatus, ExpiredWatchReply::kErrorEvent}) {
    SCOPED_TRACE(reply == ExpiredWatchReply::kHttpStatus ? "HTTP 410" : "ERROR event 410");
    api_options_.expired_watch_reply = reply;
    api_.reset();
    watcher_.reset();
    problems_.clear();
    for (const char* name : {"a", "b", "c"}) Put(Pod(name, "10.0.0.1"));
    EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
    TakeEmitted();

    json a = Pod("a", "10.0.0.1");
    a["metadata"]["annotations"] = {{"only", "noise"}};  // nothing the model holds
    Put(a);
    Put(Pod("b", "10.0.0.1", "api"));
    ASSERT_THAT(api().Delete("Pod", "x", "c"), flatwall::testing::IsOk());
    Put(Pod("d", "10.0.0.4"));
    api().Compact(api().resource_version());

    EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
    EXPECT_THAT(watcher().last_status(),
                StatusIs(absl::StatusCode::kAborted, HasSubstr("too old resource version")));
    EXPECT_EQ(watcher().resource_version(), "");
    EXPECT_THAT(TakeEmitted(), IsEmpty());
    EXPECT_EQ(watcher().Step(), absl::ZeroDuration());  // the relist
    EXPECT_THAT(TakeEmitted(), ElementsAre("delete x/c", "upsert x/b", "upsert x/d"));
    EXPECT_EQ(watcher().counters().expired, 1u);
    EXPECT_EQ(watcher().counters().lists, 2u);
    EXPECT_THAT(problems_, IsEmpty());
  }
}

TEST_F(FakeKubeApiFailuresTest, ExpiredContinueTokenRelistsFromTheStart) {
  api_options_.max_watch_duration = absl::Seconds(2);
  for (const char* name : {"a", "b", "c", "d", "e"}) Put(Pod(name, "10.0.0.1"));
  // Each answer waits, so the test can compact between the first and second page.
  api().SetResponseDelay(absl::Milliseconds(300));
  std::thread compactor([this] {
    absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (api().requests().size() < 2 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
    Put(Pod("f", "10.0.0.6"));
    api().Compact(api().resource_version());
  });
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  compactor.join();
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kAborted,
                       AllOf(HasSubstr("list pods"), HasSubstr("continue parameter is too old"))));
  EXPECT_THAT(TakeEmitted(), IsEmpty());  // a list emits only once complete

  api().SetResponseDelay(absl::ZeroDuration());
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/a", "upsert x/b", "upsert x/c", "upsert x/d",
                                         "upsert x/e", "upsert x/f"));
  std::vector<std::string> targets = TargetsFrom(0);
  ASSERT_THAT(targets, SizeIs(5));
  EXPECT_THAT(targets[1], HasSubstr("continue="));
  EXPECT_EQ(targets[2], "/api/v1/pods?limit=2");
}

// Server errors and broken connections: Unavailable, and the next delay doubles, scaled by
// the jitter factor 1 + 0.2 * (2 * random - 1), until the 5 s cap; a success resets it.
TEST_F(FakeKubeApiFailuresTest, ServerErrorsAndBrokenConnectionsBackOffWithJitterUpToTheCap) {
  struct Case {
    const char* name;
    std::function<void(FakeKubeApi&)> inject;  // makes the next 5 requests fail
    const char* message;
  };
  const Case kCases[] = {
      {"500", [](FakeKubeApi& api) { api.FailNext("/api/v1/pods", 500, "", 5); }, "HTTP 500"},
      {"503", [](FakeKubeApi& api) { api.FailNext("/api/v1/pods", 503, "", 5); }, "HTTP 503"},
      {"429", [](FakeKubeApi& api) { api.FailNext("/api/", 429, "", 5); }, "Too many requests"},
      {"reset", [](FakeKubeApi& api) { api.CloseNextConnectionImmediately(5); }, "/api/v1/pods?limit=2"},
  };
  for (const Case& test_case : kCases) {
    SCOPED_TRACE(test_case.name);
    watcher_.reset();
    api_.reset();
    Put(Pod("a", "10.0.0.1"));
    test_case.inject(api());
    randoms_ = {0.0, 0.5, 0.75, 0.25, 0.5, 1.0};
    std::vector<absl::Duration> delays;
    for (int i = 0; i < 5; ++i) delays.push_back(watcher().Step());
    EXPECT_THAT(watcher().last_status(),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr(test_case.message)));
    EXPECT_THAT(delays,
                ElementsAre(Near(absl::Milliseconds(800)), Near(absl::Seconds(2)),
                            Near(absl::Milliseconds(4400)), Near(absl::Seconds(5)),
                            Near(absl::Seconds(5))));
    EXPECT_EQ(watcher().Step(), absl::ZeroDuration());  // the server is back
    EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/a"));
    api().FailNext("/api/v1/pods", 500);
    EXPECT_THAT(watcher().Step(), Near(absl::Milliseconds(1200)));  // from the start again
  }
}

TEST_F(FakeKubeApiFailuresTest, RefusedConnectionBacksOffAndTheListSucceedsOnceTheServerIsUp) {
  std::string closed_url;
  {
    FakeKubeApi closed;
    closed_url = closed.url();
  }
  randoms_ = {0.5, 0.5, 0.5};
  EXPECT_EQ(watcher(closed_url).Step(), absl::Seconds(1));
  EXPECT_EQ(watcher().Step(), absl::Seconds(2));
  EXPECT_THAT(watcher().last_status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/api/v1/pods?limit=2")));
  EXPECT_FALSE(watcher().synced());
  EXPECT_EQ(watcher().counters().failures, 2u);
}

TEST_F(FakeKubeApiFailuresTest, AuthFailuresNameVerbResourceAndServerMessageAndRetrySlowly) {
  struct Case {
    int status;
    absl::StatusCode code;
    const char* list_message;
    const char* watch_message;
  };
  const Case kCases[] = {
      {401, absl::StatusCode::kUnauthenticated, "Unauthorized", "Unauthorized"},
      {403, absl::StatusCode::kPermissionDenied,
       R"(User "system:serviceaccount:kube-system:flatwall" cannot list resource "pods")",
       R"(cannot watch resource "pods" in API group "" at the cluster scope)"},
  };
  for (const Case& test_case : kCases) {
    SCOPED_TRACE(test_case.status);
    watcher_.reset();
    api_.reset();
    Put(Pod("a", "10.0.0.1"));
    api().FailNext("/api/v1/pods", test_case.status);
    EXPECT_EQ(watcher().Step(), absl::Seconds(60));
    EXPECT_THAT(watcher().last_status(),
                StatusIs(test_case.code,
                         AllOf(HasSubstr(absl::StrCat("list pods (/api/v1/pods): HTTP ",
                                                      test_case.status)),
                               HasSubstr(test_case.list_message))));
    EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
    api().FailNext("/api/v1/pods", test_case.status);
    EXPECT_EQ(watcher().Step(), absl::Seconds(60));
    EXPECT_THAT(watcher().last_status(),
                StatusIs(test_case.code, AllOf(HasSubstr("watch pods (/api/v1/pods)"),
                                               HasSubstr(test_case.watch_message))));
    EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/a"));  // known objects stay
  }
}

TEST_F(FakeKubeApiFailuresTest, GarbageLinesAndMalformedObjectsAreSkippedAndCounted) {
  api_options_.max_watch_duration = absl::Seconds(1);
  Put(Pod("a", "10.0.0.1"));
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  TakeEmitted();
  absl::Duration delay;
  std::thread step([&] { delay = watcher().Step(); });
  ASSERT_TRUE(api().WaitForOpenWatches(1, absl::Seconds(5)));
  api().InjectGarbageLine();
  json malformed = Pod("b", "10.0.0.2");
  malformed["spec"]["containers"][0]["ports"][0]["containerPort"] = "80";
  Put(malformed);
  const std::string last = Put(Pod("c", "10.0.0.3"));
  step.join();
  EXPECT_EQ(delay, absl::ZeroDuration());
  FW_EXPECT_OK(watcher().last_status());
  EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/c"));
  EXPECT_EQ(watcher().resource_version(), last);
  EXPECT_EQ(watcher().counters().malformed, 2u);
  ASSERT_THAT(problems_, SizeIs(2));
  EXPECT_THAT(problems_[0].message(), HasSubstr("not JSON"));
  EXPECT_THAT(problems_[1].message(),
              HasSubstr("spec.containers[0].ports[0].containerPort: must be an integer"));
}

TEST_F(FakeKubeApiFailuresTest, WatchDroppedMidEventResumesFromTheLastVersionSeen) {
  api_options_.max_watch_duration = absl::Seconds(5);
  Put(Pod("a", "10.0.0.1"));
  EXPECT_EQ(watcher().Step(), absl::ZeroDuration());
  TakeEmitted();
  randoms_ = {0.5};
  absl::Duration delay;
  std::thread step([&] { delay = watcher().Step(); });
  ASSERT_TRUE(api().WaitForOpenWatches(1, absl::Seconds(5)));
  const std::string seen = Put(Pod("b", "10.0.0.2"));
  api().DropWatches();
  step.join();
  EXPECT_EQ(delay, absl::Seconds(1));
  EXPECT_THAT(watcher().last_status(), StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/b"));
  EXPECT_EQ(watcher().resource_version(), seen);

  const size_t before = api().requests().size();
  api().SetBookmarkInterval(absl::ZeroDuration());
  Put(Pod("c", "10.0.0.3"));
  std::thread resumed([&] { delay = watcher().Step(); });
  ASSERT_TRUE(api().WaitForOpenWatches(1, absl::Seconds(5)));
  api().DropWatches();  // ends the resumed watch too, after it has sent c
  resumed.join();
  EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/c"));
  EXPECT_THAT(TargetsFrom(before),
              ElementsAre(HasSubstr(absl::StrCat("watch=1&resourceVersion=", seen, "&"))));
}

TEST_F(FakeKubeApiFailuresTest, SlowAnswerWithinTheTimeoutSucceedsAndBeyondItFails) {
  Put(Pod("a", "10.0.0.1"));
  api().SetResponseDelay(absl::Milliseconds(400));
  ResourceWatcher& slow = watcher(
      "", {.request_timeout = absl::Seconds(1), .watch_timeout = absl::Seconds(1)});
  EXPECT_EQ(slow.Step(), absl::ZeroDuration());
  EXPECT_THAT(TakeEmitted(), ElementsAre("upsert x/a"));

  watcher_.reset();
  api().SetResponseDelay(absl::Milliseconds(1500));
  randoms_ = {0.5};
  ResourceWatcher& too_slow = watcher(
      "", {.request_timeout = absl::Seconds(1), .watch_timeout = absl::Seconds(1)});
  EXPECT_EQ(too_slow.Step(), absl::Seconds(1));
  EXPECT_THAT(too_slow.last_status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("/api/v1/pods?limit=2")));
}

// The project's example manifests, served by the fake, reach the client as the manifest
// decoder reads them from the files (apart from what only the API server assigns).
TEST_F(FakeKubeApiFailuresTest, ExampleManifestsListAsTheManifestDecoderReadsThem) {
  const std::filesystem::path directory =
      std::filesystem::path(FLATWALL_SOURCE_DIR) / "examples/policies/00-shop";
  std::vector<compiler::ClusterObject> expected;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() != ".yaml") continue;
    FW_ASSERT_OK(api().UpsertManifestFile(entry.path().string()));
    std::ifstream file(entry.path());
    std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    compiler::DecodeResult decoded = compiler::DecodeManifest(entry.path().string(), contents);
    ASSERT_THAT(decoded.errors, IsEmpty());
    expected.insert(expected.end(), decoded.objects.begin(), decoded.objects.end());
  }
  auto normalize = [](compiler::ClusterObject object) {
    std::visit(
        [](auto& typed) {
          typed.source = {};
          if constexpr (requires { typed.uid; }) typed.uid.clear();
          if constexpr (requires { typed.generation; }) typed.generation = 0;
        },
        object);
    return object;
  };
  // Keyed by kind and name: a pod and a policy may share a name.
  auto key_of = [](const compiler::ClusterObject& object) {
    return absl::StrCat(object.index(), ":", compiler::ObjectKey(object));
  };
  std::map<std::string, compiler::ClusterObject> want;
  for (const compiler::ClusterObject& object : expected) want.emplace(key_of(object), normalize(object));
  std::map<std::string, compiler::ClusterObject> got;
  for (ResourceKind kind : {ResourceKind::kNamespace, ResourceKind::kPod, ResourceKind::kService,
                            ResourceKind::kNetworkPolicy}) {
    absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create({.server = api().url()});
    FW_ASSERT_OK(transport);
    ResourceWatcher lister(kind, **transport, [&](compiler::EventBatches batches) {
      for (std::vector<compiler::ClusterEvent>& batch : batches) {
        for (compiler::ClusterEvent& event : batch) {
          EXPECT_EQ(event.kind, compiler::ClusterEvent::kUpsert);
          std::string key = key_of(event.object);
          got.emplace(std::move(key), normalize(std::move(event.object)));
        }
      }
    });
    EXPECT_EQ(lister.Step(), absl::ZeroDuration());
  }
  ASSERT_GT(want.size(), 5u);
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [key, object] : want) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(got.contains(key));
    EXPECT_TRUE(got.at(key) == object);
  }
}

}  // namespace
}  // namespace flatwall::apiwatch
