// Asking a lab agent over HTTP, from inside its node's namespace (it listens on the
// namespace's own loopback): one GET, the status code and body back. Enough HTTP/1.1 for
// the agent's own endpoints (/readyz, /metrics), not a general client.
//
// Not here: starting agents (agent_launcher.h); the agent's server (agent/daemon/).
#ifndef FLATWALL_AGENT_LAB_AGENT_HTTP_H_
#define FLATWALL_AGENT_LAB_AGENT_HTTP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace flatwall::lab {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:<port><path> inside namespace `netns`, waiting at most a second.
// Unavailable when nothing answers or the reply is not HTTP; NotFound for a missing
// namespace.
absl::StatusOr<HttpReply> HttpGetInNetns(const std::string& netns, uint16_t port,
                                         const std::string& path);

// The value of the first sample of `metric` (a Prometheus text exposition line
// "name value" or "name{...} value"); nullopt when absent or unparsable.
std::optional<double> MetricValue(const std::string& exposition, const std::string& metric);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_AGENT_HTTP_H_
