#include "agent/daemon/http_endpoints.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Sends `request` verbatim to 127.0.0.1:port and returns everything the server sends
// back before closing; "" when the connection fails.
std::string Exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  }
  close(fd);
  return response;
}

std::string Get(int port, const std::string& path) {
  return Exchange(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
}

std::string Body(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

class HttpEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MetricFamily*> up = registry_.AddGauge("test_up", "Up.");
    FW_ASSERT_OK(up);
    FW_ASSERT_OK((*up)->Set({}, 1));
    HttpEndpointsOptions options;
    options.address = "127.0.0.1:0";
    options.before_scrape = [this] { ++scrapes_; };
    absl::StatusOr<std::unique_ptr<HttpEndpoints>> endpoints =
        HttpEndpoints::Start(std::move(options), registry_, health_);
    FW_ASSERT_OK(endpoints);
    endpoints_ = std::move(*endpoints);
    ASSERT_GT(endpoints_->port(), 0);
  }

  MetricsRegistry registry_;
  AgentHealth health_{absl::Now()};
  std::atomic<int> scrapes_{0};
  std::unique_ptr<HttpEndpoints> endpoints_;
};

TEST_F(HttpEndpointsTest, MetricsServesThePrometheusTextAfterRefreshing) {
  const std::string response = Get(endpoints_->port(), "/metrics");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_EQ(Body(response), "# HELP test_up Up.\n# TYPE test_up gauge\ntest_up 1\n");
  EXPECT_EQ(scrapes_.load(), 1);
}

TEST_F(HttpEndpointsTest, HealthzIsOkWhileTheLoopBeatsAnd503WhenStale) {
  health_.Heartbeat(absl::Now());
  std::string response = Get(endpoints_->port(), "/healthz");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(response), "ok\n");

  AgentHealth stalled(absl::Now() - AgentHealth::kHeartbeatTimeout - absl::Seconds(5));
  const HttpResponse direct =
      HandleAgentRequest({"GET", "/healthz"}, registry_, stalled, nullptr);
  EXPECT_EQ(direct.status, 503);
  EXPECT_THAT(direct.body, HasSubstr("last heartbeat 35s ago"));
}

TEST_F(HttpEndpointsTest, ReadyzSaysWhyUntilTheFirstSyncThenOk) {
  std::string response = Get(endpoints_->port(), "/readyz");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_EQ(Body(response), "waiting for first sync\n");

  health_.SetNotReady("source error: cannot read /manifests");
  EXPECT_EQ(Body(Get(endpoints_->port(), "/readyz")), "source error: cannot read /manifests\n");

  health_.SetReady();
  response = Get(endpoints_->port(), "/readyz");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(response), "ok\n");
}

TEST_F(HttpEndpointsTest, UnknownPathIs404AndQueryStringsAreIgnored) {
  EXPECT_THAT(Get(endpoints_->port(), "/"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(Get(endpoints_->port(), "/metrics/extra"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(Get(endpoints_->port(), "/readyz?verbose=1"), StartsWith("HTTP/1.1 503 "));
}

TEST_F(HttpEndpointsTest, HeadHasHeadersOnlyAndOtherMethodsAre405) {
  const std::string head = Exchange(endpoints_->port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr(absl::StrCat("\r\nContent-Length: ", registry_.Render().size(),
                                          "\r\n")));
  EXPECT_EQ(Body(head), "");

  const std::string post = Exchange(endpoints_->port(), "POST /metrics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("\r\nAllow: GET, HEAD\r\n"));
}

TEST_F(HttpEndpointsTest, MalformedRequestLineIs400) {
  EXPECT_THAT(Exchange(endpoints_->port(), "hello\r\n\r\n"),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_F(HttpEndpointsTest, ClientThatSendsNothingDoesNotBlockStop) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(endpoints_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  const absl::Time start = absl::Now();
  endpoints_->Stop();  // waits at most for the idle client's I/O timeout
  EXPECT_LT(absl::Now() - start, HttpServer::kIoTimeout + absl::Seconds(1));
  close(fd);
  EXPECT_EQ(Get(endpoints_->port(), "/healthz"), "");  // nobody listens any more
  endpoints_->Stop();                                  // idempotent
}

TEST_F(HttpEndpointsTest, StartOnAPortInUseIsAnErrorNamingTheAddress) {
  const std::string address = absl::StrCat("127.0.0.1:", endpoints_->port());
  EXPECT_THAT(HttpEndpoints::Start({address, nullptr}, registry_, health_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(address)));
}

TEST(HttpServerTest, StartRejectsAddressesThatDoNotParse) {
  for (const char* address : {"", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000",
                              "[::1:9090", "[::1]9090"}) {
    SCOPED_TRACE(address);
    EXPECT_THAT(HttpServer::Start(address, nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  }
}

TEST(HttpServerTest, ServesOnIpv6Loopback) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start("[::1]:0", [](const HttpRequest& request) {
        return HttpResponse{200, "text/plain", request.path};
      });
  if (!server.ok() && server.status().message().find("Cannot assign") != std::string::npos) {
    GTEST_SKIP() << "no IPv6 loopback here: " << server.status();
  }
  FW_ASSERT_OK(server);
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(static_cast<uint16_t>((*server)->port()));
  address.sin6_addr = in6addr_loopback;
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  const std::string request = "GET /x?y HTTP/1.0\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[512];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(response), "/x");
}

}  // namespace
}  // namespace flatwall::agent
