#include "agent/lab/agent_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/lab/netns.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::lab {
namespace {

// "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" -> {200, body}.
absl::StatusOr<HttpReply> ParseReply(const std::string& raw) {
  size_t header_end = raw.find("\r\n\r\n");
  int status = 0;
  if (!absl::StartsWith(raw, "HTTP/1.") || raw.size() < 12 || header_end == std::string::npos ||
      !absl::SimpleAtoi(raw.substr(9, 3), &status)) {
    return absl::UnavailableError(absl::StrCat("not an HTTP reply: \"", raw.substr(0, 40), "\""));
  }
  return HttpReply{status, raw.substr(header_end + 4)};
}

}  // namespace

absl::StatusOr<HttpReply> HttpGetInNetns(const std::string& netns, uint16_t port,
                                         const std::string& path) {
  std::string raw;
  bool connected = false;
  FW_RETURN_IF_ERROR(RunInNetns(netns, [&]() -> absl::Status {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket");
    timeval timeout{.tv_sec = 1, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    std::string request = absl::StrCat("GET ", path,
                                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
      connected = true;
      char buffer[4096];
      ssize_t got;
      while ((got = recv(fd, buffer, sizeof(buffer), 0)) > 0) raw.append(buffer, got);
    }
    close(fd);
    return absl::OkStatus();
  }));
  if (!connected) {
    return absl::UnavailableError(
        absl::StrCat("nothing answers on 127.0.0.1:", port, " in namespace ", netns));
  }
  return ParseReply(raw);
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& metric) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::StartsWith(line, metric)) continue;
    absl::string_view rest = line.substr(metric.size());
    if (rest.empty() || (rest[0] != ' ' && rest[0] != '{')) continue;  // a longer name
    size_t space = rest.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtod(rest.substr(space + 1), &value)) {
      return std::nullopt;
    }
    return value;
  }
  return std::nullopt;
}

}  // namespace flatwall::lab
