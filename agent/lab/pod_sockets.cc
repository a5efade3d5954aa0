#include "agent/lab/pod_sockets.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/lab/netns.h"

namespace flatwall::lab {

absl::StatusOr<int> ListenInNetns(const std::string& netns, uint16_t port, int backlog) {
  int listener = -1;
  absl::Status status = RunInNetns(netns, [&]() -> absl::Status {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) return absl::InternalError("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listener, backlog) != 0) {
      return absl::InternalError(absl::StrCat("listen on port ", port, " in ", netns));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    if (listener >= 0) close(listener);
    return status;
  }
  return listener;
}

sockaddr_in Ipv4SocketAddress(const compiler::IpAddress& ip, uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, ip.ToString().c_str(), &address.sin_addr);
  return address;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void SetResetOnClose(int fd) {
  linger reset{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
}

}  // namespace flatwall::lab
