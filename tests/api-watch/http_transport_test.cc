// HttpTransport, and ResourceWatcher over it, against a test API server on 127.0.0.1 that
// speaks the wire protocol: paginated lists, chunked watch streams split anywhere, and a
// watch connection dropped mid-stream; the bearer token (fixed and rotated) and Cancel.
// HTTPS: https_transport_test.cc.
#include "api-watch/http_transport.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api-watch/resource_watcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api-watch/testing/test_api_server.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::apiwatch::testing::Chunk;
using ::flatwall::apiwatch::testing::kLastChunk;
using ::flatwall::apiwatch::testing::TestApiServer;
using ::flatwall::apiwatch::testing::TestConnection;
using ::flatwall::apiwatch::testing::TestRequest;
using ::flatwall::apiwatch::testing::WriteChunkedHeader;
using ::flatwall::apiwatch::testing::WriteResponse;
using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Lets the server wait until the client has seen a piece of the stream, which proves the
// client hands bytes over as they arrive instead of buffering the body.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    condition_.notify_all();
  }
  bool WaitOpen() {
    std::unique_lock<std::mutex> lock(mutex_);
    return condition_.wait_for(lock, std::chrono::seconds(10), [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  bool open_ = false;
};

std::string Pod(const std::string& name, const std::string& version) {
  return absl::StrCat(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")", name,
                      R"(","namespace":"x","resourceVersion":")", version,
                      R"(","managedFields":[{"manager":"kubelet"}]},"spec":{"nodeName":"n1"},)",
                      R"("status":{"podIP":"10.0.0.)", version, R"("}})");
}

std::string Event(const std::string& type, const std::string& object) {
  return absl::StrCat(R"({"type":")", type, R"(","object":)", object, "}\n");
}

std::unique_ptr<HttpTransport> Connect(const std::string& url) {
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(
      {.server = url}, {.request_timeout = absl::Seconds(5), .watch_timeout = absl::Seconds(10)});
  EXPECT_THAT(transport, flatwall::testing::IsOk());
  return transport.ok() ? std::move(*transport) : nullptr;
}

TEST(HttpTransportTest, GetReturnsStatusAndBodyWithTheQueryEscaped) {
  TestApiServer server([](const TestRequest& request, TestConnection& connection) {
    WriteResponse(connection, request.target.find("continue=") != std::string::npos ? 200 : 404,
                  R"({"ok":1})");
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response =
      transport->Get("/api/v1/pods", {{"limit", "2"}, {"continue", "a+b/c= d"}});
  FW_ASSERT_OK(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":1})");
  EXPECT_THAT(server.targets(), ElementsAre("/api/v1/pods?limit=2&continue=a%2Bb/c%3D%20d"));
}

TEST(HttpTransportTest, WatchHandsOverChunksAsTheyArriveAndReportsADroppedConnection) {
  Latch first_event_seen;
  const std::string first = Event("ADDED", Pod("a", "1"));
  const std::string second = Event("MODIFIED", Pod("a", "2"));
  TestApiServer server([&](const TestRequest&, TestConnection& connection) {
    WriteChunkedHeader(connection);
    connection.Write(Chunk(first));
    if (!first_event_seen.WaitOpen()) return;
    // The second event split across two chunks, then the connection drops without the
    // terminating chunk.
    connection.Write(Chunk(second.substr(0, 10)));
    connection.Write(Chunk(second.substr(10)));
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  std::string received;
  absl::StatusOr<ApiResponse> response =
      transport->Watch("/api/v1/pods", {{"watch", "1"}}, [&](std::string_view bytes) {
        received.append(bytes);
        if (received == first) first_event_seen.Open();
      });
  EXPECT_THAT(response,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/api/v1/pods?watch=1")));
  EXPECT_EQ(received, first + second);
}

TEST(HttpTransportTest, WatchTimeoutCountsSilenceNotTheLengthOfTheStream) {
  TestApiServer server([](const TestRequest&, TestConnection& connection) {
    WriteChunkedHeader(connection);
    for (int i = 0; i < 6; ++i) {
      connection.Write(Chunk(Event("ADDED", Pod("a", absl::StrCat(i + 1)))));
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    connection.Write(kLastChunk);
  });
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(
      {.server = server.url()}, {.request_timeout = absl::Seconds(1), .watch_timeout = absl::Seconds(1)});
  FW_ASSERT_OK(transport);
  std::string received;
  absl::StatusOr<ApiResponse> response =
      (*transport)->Watch("/api/v1/pods", {}, [&](std::string_view bytes) {
        received.append(bytes);
      });
  FW_ASSERT_OK(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(std::count(received.begin(), received.end(), '\n'), 6);
}

TEST(HttpTransportTest, SilentWatchTimesOut) {
  TestApiServer server([](const TestRequest&, TestConnection& connection) {
    WriteChunkedHeader(connection);
    connection.Write(Chunk(Event("ADDED", Pod("a", "1"))));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(
      {.server = server.url()},
      {.request_timeout = absl::Seconds(1), .watch_timeout = absl::Milliseconds(500)});
  FW_ASSERT_OK(transport);
  std::string received;
  absl::StatusOr<ApiResponse> response =
      (*transport)->Watch("/api/v1/pods", {}, [&](std::string_view bytes) {
        received.append(bytes);
      });
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  EXPECT_EQ(received, Event("ADDED", Pod("a", "1")));
}

TEST(HttpTransportTest, WatchReturnsTheBodyOfAnErrorStatus) {
  TestApiServer server([](const TestRequest&, TestConnection& connection) {
    WriteResponse(connection, 410, R"({"kind":"Status","message":"too old resource version","code":410})");
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  bool called = false;
  absl::StatusOr<ApiResponse> response =
      transport->Watch("/api/v1/pods", {}, [&](std::string_view) { called = true; });
  FW_ASSERT_OK(response);
  EXPECT_EQ(response->status, 410);
  EXPECT_THAT(response->body, HasSubstr("too old resource version"));
  EXPECT_FALSE(called);
}

TEST(HttpTransportTest, RefusedConnectionIsUnavailable) {
  std::string url;
  {
    TestApiServer closed([](const TestRequest&, TestConnection&) {});
    url = closed.url();
  }
  std::unique_ptr<HttpTransport> transport = Connect(url);
  ASSERT_NE(transport, nullptr);
  EXPECT_THAT(transport->Get("/api/v1/pods", {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("GET " + url + "/api/v1/pods")));
}

TEST(HttpTransportTest, RejectsUrlsItCannotServe) {
  for (const char* url : {"", "not a url", "ftp://10.0.0.1:6443", "http://"}) {
    SCOPED_TRACE(url);
    EXPECT_THAT(HttpTransport::Create({.server = url}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("URL")));
  }
}

TEST(HttpTransportTest, BearerTokenIsSentWithListsAndWatches) {
  TestApiServer server([](const TestRequest&, TestConnection& connection) {
    WriteResponse(connection, 200, "{}");
  });
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport =
      HttpTransport::Create({.server = server.url(), .bearer_token = "s3cret"});
  FW_ASSERT_OK(transport);
  FW_ASSERT_OK((*transport)->Get("/api/v1/pods", {}));
  FW_ASSERT_OK((*transport)->Watch("/api/v1/pods", {}, [](std::string_view) {}));
  std::vector<TestRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const TestRequest& request : requests) {
    EXPECT_EQ(request.headers.at("authorization"), "Bearer s3cret");
  }
}

TEST(HttpTransportTest, TokenFileRotatedByRenameIsSentFromTheNextRequestOn) {
  char directory[] = "/tmp/flatwall-token-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  std::string path = absl::StrCat(directory, "/token");
  std::ofstream(path) << "first\n";
  TestApiServer server([](const TestRequest&, TestConnection& connection) {
    WriteResponse(connection, 200, "{}");
  });
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport =
      HttpTransport::Create({.server = server.url(), .bearer_token_file = path});
  FW_ASSERT_OK(transport);
  FW_EXPECT_OK((*transport)->Get("/api/v1/pods", {}));
  std::ofstream(path + ".new") << "second\n";
  EXPECT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  FW_EXPECT_OK((*transport)->Get("/api/v1/pods", {}));
  std::filesystem::remove_all(directory);
  std::vector<TestRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers["authorization"], "Bearer first");
  EXPECT_EQ(requests[1].headers["authorization"], "Bearer second");
}

TEST(HttpTransportTest, RejectsATokenTogetherWithATokenFile) {
  EXPECT_THAT(HttpTransport::Create({.server = "http://127.0.0.1:1",
                                     .bearer_token = "a",
                                     .bearer_token_file = "/dev/null"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both")));
}

// A watch on a stream that stays silent would block its thread until the watch timeout;
// Cancel from another thread ends it at once, and nothing starts afterwards.
TEST(HttpTransportTest, CancelEndsASilentWatchPromptlyAndFailsLaterRequestsAtOnce) {
  Latch watch_started;
  TestApiServer server([&](const TestRequest& request, TestConnection& connection) {
    if (request.query.contains("watch")) {
      WriteChunkedHeader(connection);
      connection.Write(Chunk(Event("ADDED", Pod("a", "1"))));
      watch_started.Open();
    }
    // Silence until the server stops.
    while (!connection.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  std::atomic<bool> watch_done = false;
  absl::StatusOr<ApiResponse> watch_result;
  std::thread watcher([&] {
    watch_result = transport->Watch("/api/v1/pods", {{"watch", "1"}}, [](std::string_view) {});
    watch_done = true;
  });
  ASSERT_TRUE(watch_started.WaitOpen());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(watch_done);
  absl::Time cancelled_at = absl::Now();
  transport->Cancel();
  watcher.join();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));
  EXPECT_THAT(watch_result, StatusIs(absl::StatusCode::kCancelled, HasSubstr("/api/v1/pods")));

  size_t requests_before = server.targets().size();
  EXPECT_THAT(transport->Get("/api/v1/pods", {}),
              StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_THAT(transport->Watch("/api/v1/pods", {}, [](std::string_view) {}),
              StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_EQ(server.targets().size(), requests_before);
}

TEST(HttpTransportTest, CancelEndsAGetWaitingForItsAnswer) {
  Latch request_arrived;
  TestApiServer server([&](const TestRequest&, TestConnection& connection) {
    request_arrived.Open();
    while (!connection.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> result;
  std::thread getter([&] { result = transport->Get("/api/v1/pods", {}); });
  ASSERT_TRUE(request_arrived.WaitOpen());
  absl::Time cancelled_at = absl::Now();
  transport->Cancel();
  getter.join();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled, ::testing::_));
}

// The whole client against the test server: a paginated list, a watch cut mid-stream,
// and the resumed watch from the last event seen.
TEST(HttpTransportTest, ResourceWatcherListsWatchesAndResumesAfterADisconnect) {
  TestApiServer server([](const TestRequest& request, TestConnection& connection) {
    if (request.target == "/api/v1/pods?limit=1") {
      WriteResponse(
          connection, 200,
          absl::StrCat(
              R"({"kind":"PodList","metadata":{"resourceVersion":"10","continue":"c1"},"items":[)",
              Pod("a", "3"), "]}"));
    } else if (request.target == "/api/v1/pods?limit=1&continue=c1") {
      WriteResponse(
          connection, 200,
          absl::StrCat(R"({"kind":"PodList","metadata":{"resourceVersion":"10"},"items":[)",
                       Pod("b", "4"), "]}"));
    } else if (absl::StrContains(request.target, "watch=1&resourceVersion=10&")) {
      WriteChunkedHeader(connection);
      std::string events = Event("ADDED", Pod("c", "11")) + Event("DELETED", Pod("a", "12"));
      connection.Write(Chunk(events.substr(0, 7)));
      connection.Write(Chunk(events.substr(7)));
      connection.Write(Chunk(Event("MODIFIED", Pod("b", "13")).substr(0, 25)));  // then dropped
    } else if (absl::StrContains(request.target, "watch=1&resourceVersion=12&")) {
      WriteChunkedHeader(connection);
      connection.Write(Chunk(Event("MODIFIED", Pod("b", "13"))));
      connection.Write(kLastChunk);  // a watch that ends normally (timeoutSeconds)
    } else {
      WriteResponse(connection, 404, R"({"kind":"Status","message":"unexpected request"})");
    }
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  std::vector<std::string> emitted;
  ResourceWatcherOptions options;
  options.page_size = 1;
  ResourceWatcher watcher(
      ResourceKind::kPod, *transport,
      [&](compiler::EventBatches batches) {
        for (const std::vector<compiler::ClusterEvent>& batch : batches) {
          for (const compiler::ClusterEvent& event : batch) {
            emitted.push_back(absl::StrCat(
                event.kind == compiler::ClusterEvent::kDelete ? "delete " : "upsert ",
                compiler::ObjectKey(event.object)));
          }
        }
      },
      options);

  EXPECT_EQ(watcher.Step(), absl::ZeroDuration());  // the list
  EXPECT_GT(watcher.Step(), absl::ZeroDuration());  // the watch that drops
  EXPECT_THAT(watcher.last_status(), StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_EQ(watcher.resource_version(), "12");
  EXPECT_EQ(watcher.Step(), absl::ZeroDuration());  // resumed, ends normally
  FW_EXPECT_OK(watcher.last_status());
  EXPECT_THAT(emitted,
              ElementsAre("upsert x/a", "upsert x/b", "upsert x/c", "delete x/a", "upsert x/b"));
  EXPECT_EQ(watcher.resource_version(), "13");
  EXPECT_EQ(server.targets().size(), 4u);
}

}  // namespace
}  // namespace flatwall::apiwatch
