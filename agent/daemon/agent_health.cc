#include "agent/daemon/agent_health.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace flatwall::agent {

AgentHealth::AgentHealth(absl::Time started) : last_heartbeat_(started) {}

void AgentHealth::Heartbeat(absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  // A late caller with an older reading must not move the heartbeat back.
  if (now > last_heartbeat_) last_heartbeat_ = now;
}

void AgentHealth::SetReady() {
  std::lock_guard<std::mutex> lock(mutex_);
  ready_ = true;
  not_ready_reason_.clear();
}

void AgentHealth::SetNotReady(std::string reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ready_ = false;
  not_ready_reason_ = std::move(reason);
}

AgentHealth::Check AgentHealth::Liveness(absl::Time now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const absl::Duration age = now - last_heartbeat_;
  if (age <= kHeartbeatTimeout) return {true, "ok"};
  return {false, absl::StrCat("agent loop stalled: last heartbeat ",
                              absl::FormatDuration(absl::Trunc(age, absl::Seconds(1))),
                              " ago")};
}

AgentHealth::Check AgentHealth::Readiness() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ready_) return {true, "ok"};
  return {false, not_ready_reason_};
}

}  // namespace flatwall::agent
