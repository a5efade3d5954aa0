// Reading verdict logs (docs/verdict-log.md) for the commands that show their records:
// a file read whole, its complete lines tagged with their sequence numbers, several
// files (an active file and its rotations, in any order) merged in chain order, and one
// record rendered as a readable line. `flatwall logs` and `flatwall explain --node` share it.
//
// Not here: the filters and following of `flatwall logs` (command_logs.cc); the hash
// chain (agent/daemon/verdict_chain.h); writing logs (agent/daemon/verdict_log*.h).
#ifndef FLATWALL_AGENT_CLI_VERDICT_RECORDS_H_
#define FLATWALL_AGENT_CLI_VERDICT_RECORDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace flatwall::cli {

// A file read to its end through a descriptor that stays open (the caller closes it), so
// that following it continues in the very file that was read even if it is rotated.
struct OpenedLog {
  int fd = -1;
  std::string contents;
};

// NotFound ("PATH: cannot read") when the file cannot be opened.
absl::StatusOr<OpenedLog> ReadLogFile(const std::string& path);

struct LogLine {
  uint64_t seq = 0;   // the record's "seq"; 0 when the line has none
  std::string text;   // the line without its newline
  std::string where;  // "PATH:LINE", for messages
};

// The complete lines of `contents` read from `path`; a last line without its newline
// (being written) is left out, and so are empty lines.
std::vector<LogLine> CompleteLines(const std::string& path, absl::string_view contents);

// Every complete line of every file, in chain order (by seq, stable). Errors: those of
// ReadLogFile for the first unreadable file.
absl::StatusOr<std::vector<LogLine>> ReadLogsInChainOrder(const std::vector<std::string>& paths);

// record[key] as text: a string as is, any other value as JSON, "" when absent.
std::string FieldText(const nlohmann::json& record, const char* key);

// "namespace/name" of one entry of a record's isolated_by: an object {"namespace",
// "name", ...} (schema 3) or the string itself (schema 2); "" for anything else.
std::string IsolatingPolicyKey(const nlohmann::json& entry);

// One record as one line: "TIME NODE #SEQ DENY DEFAULT_DENY ingress TCP[SYN] y/a(...) ->
// x/a(10.10.1.5:80) isolated by x/only-from-y", or the STARTUP/SUPPRESSED wording.
std::string RecordText(const nlohmann::json& record);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_VERDICT_RECORDS_H_
