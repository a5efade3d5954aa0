#include "agent/netlink_dump.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

namespace flatwall::agent {
namespace {

// Closes the socket on every path out.
class SocketCloser {
 public:
  explicit SocketCloser(int fd) : fd_(fd) {}
  ~SocketCloser() { close(fd_); }
  SocketCloser(const SocketCloser&) = delete;
  SocketCloser& operator=(const SocketCloser&) = delete;

 private:
  int fd_;
};

// A dump answer comes in datagrams of up to a page each by default; 32 KiB holds the
// largest the kernel sends without MSG_PEEK sizing.
constexpr size_t kReceiveBuffer = 32768;

}  // namespace

absl::Status NetlinkDump(uint16_t type, const void* header, size_t header_size,
                         const std::string& what,
                         const std::function<absl::Status(const nlmsghdr&)>& on_message) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return BpfError(errno, absl::StrCat(what, ": open netlink socket"));
  SocketCloser closer(fd);

  std::vector<char> request(NLMSG_SPACE(header_size), 0);
  auto* request_header = reinterpret_cast<nlmsghdr*>(request.data());
  request_header->nlmsg_len = NLMSG_LENGTH(header_size);
  request_header->nlmsg_type = type;
  request_header->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request_header->nlmsg_seq = 1;
  std::memcpy(NLMSG_DATA(request_header), header, header_size);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, request.data(), request_header->nlmsg_len, 0,
             reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return BpfError(errno, absl::StrCat(what, ": send netlink request"));
  }

  // After a callback error the answer is still read to its end, so the status returned
  // is the callback's and not a confusing half-read.
  absl::Status callback_status;
  std::vector<char> buffer(kReceiveBuffer);
  while (true) {
    const ssize_t received = recv(fd, buffer.data(), buffer.size(), 0);
    if (received < 0) {
      if (errno == EINTR) continue;
      return BpfError(errno, absl::StrCat(what, ": receive netlink answer"));
    }
    if (received == 0) {
      return absl::DataLossError(absl::StrCat(what, ": netlink answer ended early"));
    }
    int remaining = static_cast<int>(received);
    for (auto* message = reinterpret_cast<const nlmsghdr*>(buffer.data());
         NLMSG_OK(message, remaining); message = NLMSG_NEXT(message, remaining)) {
      if (message->nlmsg_type == NLMSG_DONE) return callback_status;
      if (message->nlmsg_type == NLMSG_ERROR) {
        if (message->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          return absl::DataLossError(absl::StrCat(what, ": truncated netlink error"));
        }
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(message));
        if (error->error == 0) continue;  // an acknowledgement, not an error
        return BpfError(error->error, what);
      }
      if (callback_status.ok()) callback_status = on_message(*message);
    }
    if (remaining != 0) {
      return absl::DataLossError(absl::StrCat(what, ": truncated netlink message"));
    }
  }
}

}  // namespace flatwall::agent
