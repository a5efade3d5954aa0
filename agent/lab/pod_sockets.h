// TCP sockets made inside the lab's pod namespaces, for tests and benchmarks that talk
// between pods themselves: a socket belongs to the namespace it was created in, so it is
// opened there (netns.h) and then used from any thread of the calling process.
//
// Not here: the pod servers and probes (pod_server.h, prober.h).
#ifndef FLATWALL_AGENT_LAB_POD_SOCKETS_H_
#define FLATWALL_AGENT_LAB_POD_SOCKETS_H_

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "policy-compiler/ip_prefix.h"

namespace flatwall::lab {

// A listening TCP socket on 0.0.0.0:`port` in namespace `netns` (SO_REUSEADDR, close on
// exec). NotFound for a missing namespace; Internal when the port cannot be bound.
absl::StatusOr<int> ListenInNetns(const std::string& netns, uint16_t port, int backlog);

// The IPv4 socket address of `ip`:`port`; `ip` must be IPv4.
sockaddr_in Ipv4SocketAddress(const compiler::IpAddress& ip, uint16_t port);

// Sets TCP_NODELAY (request/response benchmarks send single bytes).
void SetNoDelay(int fd);

// Closing `fd` afterwards sends a reset instead of a FIN: the probing client opens
// thousands of connections a second and must not leave a TIME_WAIT behind for each.
void SetResetOnClose(int fd);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_POD_SOCKETS_H_
