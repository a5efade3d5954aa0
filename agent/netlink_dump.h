// Dumping a table of the kernel's routing subsystem (routes, addresses) over a raw
// NETLINK_ROUTE socket: one NLM_F_DUMP request, every reply message handed to a callback.
// The socket is opened in the calling thread's network namespace, so the dump describes
// that namespace.
//
// Not here: what the messages mean (host_routes.h parses routes and addresses).
#ifndef FLATWALL_AGENT_NETLINK_DUMP_H_
#define FLATWALL_AGENT_NETLINK_DUMP_H_

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace flatwall::agent {

// Sends a `type` request (RTM_GETROUTE, RTM_GETADDR, ...) with NLM_F_REQUEST | NLM_F_DUMP,
// whose payload is the `header_size` bytes at `header` (an rtmsg, ifaddrmsg, ...), and
// calls `on_message` for every message of the answer until NLMSG_DONE. `what` names the
// dump in errors ("dump IPv4 routes"). Errors: the first error `on_message` returns (the
// rest of the answer is drained); Internal or the errno's code (via BpfError's mapping)
// when the socket fails or the kernel answers NLMSG_ERROR; DataLoss for a truncated
// message.
absl::Status NetlinkDump(uint16_t type, const void* header, size_t header_size,
                         const std::string& what,
                         const std::function<absl::Status(const nlmsghdr&)>& on_message);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_NETLINK_DUMP_H_
