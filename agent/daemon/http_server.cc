#include "agent/daemon/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace flatwall::agent {
namespace {

constexpr size_t kMaxRequestHead = 8192;

struct HostPort {
  std::string host;  // empty: every address
  std::string port;
};

absl::StatusOr<HostPort> SplitAddress(const std::string& address) {
  HostPort result;
  size_t colon;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP address \"", address, "\" is not [host]:port"));
    }
    result.host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP address \"", address, "\" is not host:port"));
    }
    result.host = address.substr(0, colon);
  }
  result.port = address.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(result.port, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address \"", address, "\" has no port number 0-65535"));
  }
  return result;
}

// A listening socket bound to `address`, non-blocking so that a connection reset
// between poll() and accept() cannot block the server thread.
absl::StatusOr<int> Listen(const std::string& address) {
  absl::StatusOr<HostPort> host_port = SplitAddress(address);
  if (!host_port.ok()) return host_port.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const char* host = host_port->host.empty() ? nullptr : host_port->host.c_str();
  if (const int error = getaddrinfo(host, host_port->port.c_str(), &hints, &results);
      error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resolve HTTP address ", address, ": ", gai_strerror(error)));
  }
  const addrinfo& first = *results;
  const int fd = socket(first.ai_family, first.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        first.ai_protocol);
  if (fd < 0) {
    const int error = errno;
    freeaddrinfo(results);
    return absl::ErrnoToStatus(error, absl::StrCat("create socket for ", address));
  }
  // Lets a restarted agent rebind while old connections sit in TIME_WAIT; a live
  // listener on the port still makes bind fail.
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = bind(fd, first.ai_addr, first.ai_addrlen) == 0 && listen(fd, 16) == 0;
  const int error = errno;
  freeaddrinfo(results);
  if (!bound) {
    close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat("listen on ", address));
  }
  return fd;
}

absl::StatusOr<int> BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname of the HTTP socket");
  }
  if (bound.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
}

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Unknown";
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away or timed out: nothing left to tell it
    sent += static_cast<size_t>(n);
  }
}

void SendResponse(int fd, const HttpResponse& response, bool head_only,
                  const std::string& extra_headers = "") {
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ", StatusText(response.status),
                                 "\r\nContent-Type: ", response.content_type,
                                 "\r\nContent-Length: ", response.body.size(),
                                 "\r\nConnection: close\r\n", extra_headers, "\r\n");
  if (!head_only) out += response.body;
  SendAll(fd, out);
}

// Reads up to the blank line that ends the request head. Empty on timeout, EOF or an
// oversized head.
std::string ReadRequestHead(int fd) {
  const absl::Time deadline = absl::Now() + HttpServer::kIoTimeout;
  std::string head;
  char buffer[1024];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead || absl::Now() > deadline) return "";
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    head.append(buffer, static_cast<size_t>(n));
  }
  return head;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                              HttpHandler handler) {
  absl::StatusOr<int> listen_fd = Listen(address);
  if (!listen_fd.ok()) return listen_fd.status();
  absl::StatusOr<int> port = BoundPort(*listen_fd);
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!port.ok() || stop_fd < 0) {
    const int error = errno;
    close(*listen_fd);
    if (!port.ok()) return port.status();
    return absl::ErrnoToStatus(error, "create the HTTP server's stop eventfd");
  }
  std::unique_ptr<HttpServer> server(
      new HttpServer(*listen_fd, stop_fd, *port, std::move(handler)));
  server->thread_ = std::thread([raw = server.get()] { raw->Serve(); });
  return server;
}

HttpServer::HttpServer(int listen_fd, int stop_fd, int port, HttpHandler handler)
    : listen_fd_(listen_fd), stop_fd_(stop_fd), port_(port), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (listen_fd_ < 0) return;
  const uint64_t one = 1;
  // Cannot fail short of a full counter; the thread wakes on the next poll either way.
  [[maybe_unused]] const ssize_t written = write(stop_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(stop_fd_);
  listen_fd_ = -1;
  stop_fd_ = -1;
}

void HttpServer::Serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;  // only EFAULT/EINVAL/ENOMEM: nothing to retry
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // reset before accept, or out of descriptors for now
    const timeval timeout = absl::ToTimeval(kIoTimeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    HandleConnection(fd);
    close(fd);
  }
}

void HttpServer::HandleConnection(int fd) {
  const std::string head = ReadRequestHead(fd);
  if (head.empty()) return;
  const std::string request_line = head.substr(0, head.find("\r\n"));
  const std::vector<std::string> parts = absl::StrSplit(request_line, ' ');
  if (parts.size() != 3 || parts[1].empty() || parts[2].rfind("HTTP/1.", 0) != 0) {
    SendResponse(fd, {400, "text/plain; charset=utf-8", "bad request\n"}, false);
    return;
  }
  HttpRequest request{parts[0], parts[1].substr(0, parts[1].find('?'))};
  if (request.method != "GET" && request.method != "HEAD") {
    SendResponse(fd, {405, "text/plain; charset=utf-8", "method not allowed\n"}, false,
                 "Allow: GET, HEAD\r\n");
    return;
  }
  SendResponse(fd, handler_(request), request.method == "HEAD");
}

}  // namespace flatwall::agent
