#include "agent/lab/pod_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace flatwall::lab {
namespace {

using Clock = std::chrono::steady_clock;
using compiler::Protocol;

// A client that connects and never sends must not hold a descriptor forever.
constexpr auto kConnectionTimeout = std::chrono::seconds(5);
constexpr size_t kMaxConnections = 512;
constexpr size_t kMaxRequest = 256;

std::string PortText(const ServedPort& port) {
  return absl::StrCat(port.protocol == Protocol::kTcp ? "tcp" : "udp", ":", port.port);
}

// A socket on `port` for both IPv4 and IPv6 when the namespace has IPv6, else IPv4 only.
absl::StatusOr<int> BindSocket(const ServedPort& port) {
  int type =
      (port.protocol == Protocol::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  int fd = socket(AF_INET6, type, 0);
  int one = 1, zero = 0;
  if (fd >= 0) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_any;
    address.sin6_port = htons(port.port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    fd = socket(AF_INET, type, 0);
    if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port.port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      int error = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("bind ", PortText(port), ": ", strerror(error)));
    }
  }
  if (port.protocol == Protocol::kTcp && listen(fd, 128) != 0) {
    int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("listen ", PortText(port), ": ", strerror(error)));
  }
  return fd;
}

struct Connection {
  int fd;
  Clock::time_point deadline;
  size_t received = 0;
};

class Server {
 public:
  explicit Server(std::string reply) : reply_(std::move(reply) + "\n") {}

  void AddListener(int fd, Protocol protocol) { listeners_.push_back({fd, protocol}); }
  [[noreturn]] void Run();

 private:
  void Accept(int listener);
  // Reads what the client sent; once a line (or enough) is in, replies and closes.
  // Returns false when the connection is finished.
  bool Serve(Connection& connection);
  void AnswerDatagram(int fd);

  std::string reply_;
  std::vector<std::pair<int, Protocol>> listeners_;
  std::vector<Connection> connections_;
};

void Server::Run() {
  while (true) {
    std::vector<pollfd> fds;
    for (const auto& [fd, protocol] : listeners_) fds.push_back({fd, POLLIN, 0});
    for (const Connection& connection : connections_) fds.push_back({connection.fd, POLLIN, 0});
    poll(fds.data(), fds.size(), 1000);
    for (size_t i = 0; i < listeners_.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (listeners_[i].second == Protocol::kTcp) {
        Accept(listeners_[i].first);
      } else {
        AnswerDatagram(listeners_[i].first);
      }
    }
    // Connections accepted just now are not in `fds`; they are polled next round.
    size_t polled = fds.size() - listeners_.size();
    std::vector<Connection> open;
    for (size_t i = 0; i < connections_.size(); ++i) {
      Connection& connection = connections_[i];
      bool ready = i < polled && (fds[listeners_.size() + i].revents != 0);
      bool keep = ready ? Serve(connection) : Clock::now() < connection.deadline;
      if (keep) {
        open.push_back(connection);
      } else {
        close(connection.fd);
      }
    }
    connections_ = std::move(open);
  }
}

void Server::Accept(int listener) {
  while (true) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= kMaxConnections) {
      close(fd);
      continue;
    }
    connections_.push_back({fd, Clock::now() + kConnectionTimeout});
  }
}

bool Server::Serve(Connection& connection) {
  char buffer[kMaxRequest];
  ssize_t n = read(connection.fd, buffer, sizeof(buffer));
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  connection.received += static_cast<size_t>(n);
  bool complete = n == 0 || std::memchr(buffer, '\n', static_cast<size_t>(n)) != nullptr ||
                  connection.received >= kMaxRequest;
  if (!complete) return true;
  ssize_t sent = send(connection.fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
  (void)sent;  // a client that left gets nothing; there is no one to tell
  return false;
}

void Server::AnswerDatagram(int fd) {
  char buffer[kMaxRequest];
  sockaddr_storage peer{};
  socklen_t peer_size = sizeof(peer);
  while (recvfrom(fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&peer), &peer_size) >=
         0) {
    sendto(fd, reply_.data(), reply_.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
    peer_size = sizeof(peer);
  }
}

}  // namespace

std::vector<std::string> ServeArguments(const PodServerConfig& config) {
  std::vector<std::string> ports;
  for (const ServedPort& port : config.ports) ports.push_back(PortText(port));
  return {"--pod",        config.pod,       "--ports", absl::StrJoin(ports, ","),
          "--ready-file", config.ready_file};
}

absl::StatusOr<PodServerConfig> ParseServeArguments(const std::vector<std::string>& args) {
  PodServerConfig config;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& name = args[i];
    const std::string& value = args[i + 1];
    if (name == "--pod") {
      config.pod = value;
    } else if (name == "--ready-file") {
      config.ready_file = value;
    } else if (name == "--ports") {
      for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        std::pair<std::string, std::string> parts = absl::StrSplit(item, ':');
        int number = 0;
        if ((parts.first != "tcp" && parts.first != "udp") ||
            !absl::SimpleAtoi(parts.second, &number) || number < 1 || number > 65535) {
          return absl::InvalidArgumentError(
              absl::StrCat("--ports: \"", std::string(item), "\" is not tcp:N or udp:N"));
        }
        config.ports.push_back({parts.first == "tcp" ? Protocol::kTcp : Protocol::kUdp,
                                static_cast<uint16_t>(number)});
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument ", name));
    }
  }
  if (args.size() % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("argument ", args.back(), " needs a value"));
  }
  if (config.pod.empty()) return absl::InvalidArgumentError("--pod is required");
  return config;
}

absl::Status ServePod(const PodServerConfig& config) {
  Server server(config.pod);
  for (const ServedPort& port : config.ports) {
    absl::StatusOr<int> fd = BindSocket(port);
    if (!fd.ok()) return fd.status();
    server.AddListener(*fd, port.protocol);
  }
  if (!config.ready_file.empty()) {
    std::ofstream ready(config.ready_file, std::ios::trunc);
    ready << getpid() << "\n";
    ready.close();
    if (!ready) return absl::InternalError(absl::StrCat("write ", config.ready_file, ": failed"));
  }
  server.Run();
}

}  // namespace flatwall::lab
