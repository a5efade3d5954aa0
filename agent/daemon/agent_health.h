// The agent's liveness and readiness as /healthz and /readyz report them: alive while
// the reconcile loop keeps beating (a heartbeat newer than kHeartbeatTimeout), ready once
// the loop says the first full state is enforced. Thread-safe: the loop writes, the HTTP
// thread reads.
//
// Not here: serving them (http_endpoints.h), deciding when the state is enforced (the
// reconciler).
#ifndef FLATWALL_AGENT_DAEMON_AGENT_HEALTH_H_
#define FLATWALL_AGENT_DAEMON_AGENT_HEALTH_H_

#include <mutex>
#include <string>

#include "absl/time/time.h"

namespace flatwall::agent {

class AgentHealth {
 public:
  // A loop that has not beaten for this long is stuck (a reconcile pass takes
  // milliseconds to seconds; the loop beats at least once per idle wake-up).
  static constexpr absl::Duration kHeartbeatTimeout = absl::Seconds(30);

  // `started` counts as the first heartbeat, so a starting agent is alive. Not ready,
  // with the reason "waiting for first sync".
  explicit AgentHealth(absl::Time started);

  // The loop calls this every iteration with the current time.
  void Heartbeat(absl::Time now);
  // Ready from now on; clears the reason.
  void SetReady();
  // Not ready, saying why ("source error: cannot read /etc/flatwall: ...").
  void SetNotReady(std::string reason);

  struct Check {
    bool ok = false;
    std::string message;  // "ok", or why not
  };
  // Alive iff the last heartbeat is at most kHeartbeatTimeout before `now`.
  Check Liveness(absl::Time now) const;
  Check Readiness() const;

 private:
  mutable std::mutex mutex_;
  absl::Time last_heartbeat_;
  bool ready_ = false;
  std::string not_ready_reason_ = "waiting for first sync";
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_AGENT_HEALTH_H_
