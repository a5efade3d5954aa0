// HttpTransport, and ResourceWatcher over it, against a test API server on 127.0.0.1 that
// speaks the wire protocol: paginated lists, chunked watch streams split anywhere, and a
// watch connection dropped mid-stream.
#include "api-watch/http_transport.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
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
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (written <= 0) return;
    data.remove_prefix(static_cast<size_t>(written));
  }
}

std::string Chunk(std::string_view data) {
  return absl::StrFormat("%x\r\n%s\r\n", data.size(), data);
}

void WriteResponse(int fd, int status, const std::string& body) {
  WriteAll(fd,
           absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Type: application/json\r\n",
                        "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body));
}

void WriteChunkedHeader(int fd) {
  WriteAll(fd,
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

// A one-thread HTTP/1.1 server: one request per connection, answered by `handler` with
// raw bytes on the socket (so a test can cut a chunked body wherever it likes).
class TestApiServer {
 public:
  using Handler = std::function<void(const std::string& target, int fd)>;

  explicit TestApiServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~TestApiServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  std::vector<std::string> targets() {
    std::lock_guard<std::mutex> lock(mutex_);
    return targets_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd poll_fd{listen_fd_, POLLIN, 0};
      if (poll(&poll_fd, 1, 50) <= 0) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::string request;
      char buffer[4096];
      while (!absl::StrContains(request, "\r\n\r\n")) {
        ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
        if (got <= 0) break;
        request.append(buffer, static_cast<size_t>(got));
      }
      // "GET <target> HTTP/1.1"
      size_t start = request.find(' ') + 1;
      std::string target = request.substr(start, request.find(' ', start) - start);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        targets_.push_back(target);
      }
      handler_(target, fd);
      close(fd);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_ = false;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> targets_;
};

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
      url, {.request_timeout = absl::Seconds(5), .watch_timeout = absl::Seconds(10)});
  EXPECT_THAT(transport, flatwall::testing::IsOk());
  return transport.ok() ? std::move(*transport) : nullptr;
}

TEST(HttpTransportTest, GetReturnsStatusAndBodyWithTheQueryEscaped) {
  TestApiServer server([](const std::string& target, int fd) {
    WriteResponse(fd, target.find("continue=") != std::string::npos ? 200 : 404, R"({"ok":1})");
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
  TestApiServer server([&](const std::string&, int fd) {
    WriteChunkedHeader(fd);
    WriteAll(fd, Chunk(first));
    if (!first_event_seen.WaitOpen()) return;
    // The second event split across two chunks, then the connection drops without the
    // terminating chunk.
    WriteAll(fd, Chunk(second.substr(0, 10)));
    WriteAll(fd, Chunk(second.substr(10)));
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
  TestApiServer server([](const std::string&, int fd) {
    WriteChunkedHeader(fd);
    for (int i = 0; i < 6; ++i) {
      WriteAll(fd, Chunk(Event("ADDED", Pod("a", absl::StrCat(i + 1)))));
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    WriteAll(fd, "0\r\n\r\n");
  });
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(
      server.url(), {.request_timeout = absl::Seconds(1), .watch_timeout = absl::Seconds(1)});
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
  TestApiServer server([](const std::string&, int fd) {
    WriteChunkedHeader(fd);
    WriteAll(fd, Chunk(Event("ADDED", Pod("a", "1"))));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(
      server.url(),
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
  TestApiServer server([](const std::string&, int fd) {
    WriteResponse(fd, 410, R"({"kind":"Status","message":"too old resource version","code":410})");
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
    TestApiServer closed([](const std::string&, int) {});
    url = closed.url();
  }
  std::unique_ptr<HttpTransport> transport = Connect(url);
  ASSERT_NE(transport, nullptr);
  EXPECT_THAT(transport->Get("/api/v1/pods", {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("GET /api/v1/pods")));
}

TEST(HttpTransportTest, RejectsUrlsItCannotServe) {
  for (const char* url : {"", "not a url", "https://10.0.0.1:6443", "http://"}) {
    SCOPED_TRACE(url);
    EXPECT_THAT(HttpTransport::Create(url),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("URL")));
  }
}

// The whole client against the test server: a paginated list, a watch cut mid-stream,
// and the resumed watch from the last event seen.
TEST(HttpTransportTest, ResourceWatcherListsWatchesAndResumesAfterADisconnect) {
  TestApiServer server([](const std::string& target, int fd) {
    if (target == "/api/v1/pods?limit=1") {
      WriteResponse(
          fd, 200,
          absl::StrCat(
              R"({"kind":"PodList","metadata":{"resourceVersion":"10","continue":"c1"},"items":[)",
              Pod("a", "3"), "]}"));
    } else if (target == "/api/v1/pods?limit=1&continue=c1") {
      WriteResponse(
          fd, 200,
          absl::StrCat(R"({"kind":"PodList","metadata":{"resourceVersion":"10"},"items":[)",
                       Pod("b", "4"), "]}"));
    } else if (absl::StrContains(target, "watch=1&resourceVersion=10&")) {
      WriteChunkedHeader(fd);
      std::string events = Event("ADDED", Pod("c", "11")) + Event("DELETED", Pod("a", "12"));
      WriteAll(fd, Chunk(events.substr(0, 7)));
      WriteAll(fd, Chunk(events.substr(7)));
      WriteAll(fd, Chunk(Event("MODIFIED", Pod("b", "13")).substr(0, 25)));  // then dropped
    } else if (absl::StrContains(target, "watch=1&resourceVersion=12&")) {
      WriteChunkedHeader(fd);
      WriteAll(fd, Chunk(Event("MODIFIED", Pod("b", "13"))));
      WriteAll(fd, "0\r\n\r\n");  // a watch that ends normally (timeoutSeconds)
    } else {
      WriteResponse(fd, 404, R"({"kind":"Status","message":"unexpected request"})");
    }
  });
  std::unique_ptr<HttpTransport> transport = Connect(server.url());
  ASSERT_NE(transport, nullptr);
  std::vector<std::string> emitted;
  ResourceWatcherOptions options;
  options.page_size = 1;
  ResourceWatcher watcher(
      ResourceKind::kPod, *transport,
      [&](std::vector<compiler::ClusterEvent> events) {
        for (const compiler::ClusterEvent& event : events) {
          emitted.push_back(
              absl::StrCat(event.kind == compiler::ClusterEvent::kDelete ? "delete " : "upsert ",
                           compiler::ObjectKey(event.object)));
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
