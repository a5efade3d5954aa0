// The agent's own diagnostic log (not the verdict log): one line per message on stderr,
// "2026-11-26T15:04:05.123Z info reconcile: 3 events, 12 entries", filtered by level.
// Thread-safe.
//
// Not here: the verdict log (verdict_log.h).
#ifndef FLATWALL_AGENT_DAEMON_AGENT_LOG_H_
#define FLATWALL_AGENT_DAEMON_AGENT_LOG_H_

#include <optional>
#include <string>

namespace flatwall::agent {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

// "error", "warn", "info", "debug"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(const std::string& text);

// Messages above this level are dropped. Default: kInfo.
void SetLogLevel(LogLevel level);

void Log(LogLevel level, const std::string& message);
inline void LogError(const std::string& message) { Log(LogLevel::kError, message); }
inline void LogWarning(const std::string& message) { Log(LogLevel::kWarning, message); }
inline void LogInfo(const std::string& message) { Log(LogLevel::kInfo, message); }
inline void LogDebug(const std::string& message) { Log(LogLevel::kDebug, message); }

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_AGENT_LOG_H_
