// The server inside each lab pod (`flatwall lab serve`): answers TCP and UDP on the pod's
// container ports with the pod's "namespace/name", so a probe knows which pod answered —
// after a Service translated the address, or a policy change, that is the point.
//
// Protocol: TCP — the client connects and sends a line, the server replies with one line
// and closes; UDP — one datagram in, one datagram back to its sender. Both families on
// every port (one dual-stack socket each).
//
// Not here: starting it in the pod's namespace (server_launcher.h); the client (prober.h).
#ifndef FLATWALL_AGENT_LAB_POD_SERVER_H_
#define FLATWALL_AGENT_LAB_POD_SERVER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

struct PodServerConfig {
  std::string pod;                // "namespace/name": the reply
  std::vector<ServedPort> ports;  // TCP and UDP ports to answer on
  std::string ready_file;         // created once every socket is bound; empty: none
};

// The arguments of `flatwall lab serve` for `config`, and their parser (InvalidArgument
// names the bad argument). The one place that knows the serve command line.
std::vector<std::string> ServeArguments(const PodServerConfig& config);
absl::StatusOr<PodServerConfig> ParseServeArguments(const std::vector<std::string>& args);

// Binds every port, writes the ready file, then serves until the process is killed.
// Returns only on a setup error: Internal naming the port that could not be bound or the
// ready file that could not be written.
absl::Status ServePod(const PodServerConfig& config);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_POD_SERVER_H_
