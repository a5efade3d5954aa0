#include "tests/api-watch/testing/test_api_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace flatwall::apiwatch::testing {
namespace {

std::string PercentDecode(std::string_view text) {
  std::string decoded;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      decoded.push_back(
          static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      decoded.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return decoded;
}

TestRequest ParseRequest(const std::string& head) {
  TestRequest request;
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return request;
  std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() >= 2) {
    request.method = request_line[0];
    request.target = request_line[1];
  }
  size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) {
    for (absl::string_view pair : absl::StrSplit(request.target.substr(question + 1), '&')) {
      std::pair<std::string, std::string> key_value =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      request.query[PercentDecode(key_value.first)] = PercentDecode(key_value.second);
    }
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return request;
}

}  // namespace

class TestApiServer::SocketConnection : public TestConnection {
 public:
  SocketConnection(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}
  bool Write(std::string_view bytes) override {
    while (!bytes.empty()) {
      if (stop_) return false;
      ssize_t written = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (written <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
  }
  bool stopping() const override { return stop_; }

 private:
  int fd_;
  const std::atomic<bool>& stop_;
};

namespace {

// A listening TCP socket on `address_text`:0, or -1. A socket belongs to the network
// namespace of the thread that creates it, so the creation runs on a thread that joins
// `netns` first.
int ListenIn(const std::string& netns, const std::string& address_text) {
  int listen_fd = -1;
  std::thread([&] {
    if (!netns.empty()) {
      int netns_fd = open(absl::StrCat("/run/netns/", netns).c_str(), O_RDONLY | O_CLOEXEC);
      bool joined = netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) == 0;
      if (netns_fd >= 0) close(netns_fd);
      if (!joined) return;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (inet_pton(AF_INET, address_text.c_str(), &address.sin_addr) != 1) return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(fd, 64) != 0) {
      close(fd);
      return;
    }
    listen_fd = fd;
  }).join();
  return listen_fd;
}

}  // namespace

TestApiServer::TestApiServer(Handler handler, TestApiServerOptions options)
    : handler_(std::move(handler)), address_(options.address) {
  listen_fd_ = ListenIn(options.netns, options.address);
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "cannot listen on " << options.address << " in netns \"" << options.netns
                  << "\"";
    return;
  }
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestApiServer::~TestApiServer() {
  stop_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Wakes handlers blocked in send() and clients blocked in recv().
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    threads.swap(connection_threads_);
  }
  for (std::thread& thread : threads) thread.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string TestApiServer::url() const { return absl::StrCat("http://", address_, ":", port_); }

std::vector<std::string> TestApiServer::targets() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> targets;
  for (const TestRequest& request : requests_) targets.push_back(request.target);
  return targets;
}

std::vector<TestRequest> TestApiServer::requests() {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void TestApiServer::AcceptLoop() {
  while (!stop_ && listen_fd_ >= 0) {
    pollfd poll_fd{listen_fd_, POLLIN, 0};
    if (poll(&poll_fd, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestApiServer::Serve(int fd) {
  std::string head;
  char buffer[4096];
  while (!absl::StrContains(head, "\r\n\r\n") && !stop_) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 50) <= 0) continue;
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    head.append(buffer, static_cast<size_t>(got));
  }
  if (absl::StrContains(head, "\r\n\r\n")) {
    TestRequest request = ParseRequest(head.substr(0, head.find("\r\n\r\n")));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    SocketConnection connection(fd, stop_);
    handler_(request, connection);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  close(fd);
}

std::string Chunk(std::string_view data) {
  return absl::StrFormat("%x\r\n%s\r\n", data.size(), std::string(data));
}

void WriteResponse(TestConnection& connection, int status, std::string_view body) {
  connection.Write(absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Type: application/json\r\n",
                                "Content-Length: ", body.size(),
                                "\r\nConnection: close\r\n\r\n", std::string(body)));
}

void WriteChunkedHeader(TestConnection& connection) {
  connection.Write(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

}  // namespace flatwall::apiwatch::testing
