#include "agent/daemon/agent_log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace flatwall::agent {
namespace {

std::atomic<int> current_level{static_cast<int>(LogLevel::kInfo)};
std::mutex output_mutex;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(const std::string& text) {
  for (LogLevel level : {LogLevel::kError, LogLevel::kWarning, LogLevel::kInfo, LogLevel::kDebug}) {
    if (text == LevelName(level)) return level;
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { current_level = static_cast<int>(level); }

void Log(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) > current_level) return;
  std::string stamp = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard<std::mutex> lock(output_mutex);
  std::fprintf(stderr, "%s %s %s\n", stamp.c_str(), LevelName(level), message.c_str());
  std::fflush(stderr);
}

}  // namespace flatwall::agent
