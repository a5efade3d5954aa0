// Writing verdict-log lines: to stdout, or to a file rotated by size — when the next line
// would take the file past max_bytes, the older files shift by rename (file.N-1 -> file.N,
// ..., file -> file.1, the oldest falls off) and a fresh file is opened. Each batch is
// flushed before Write returns, so a log shipper tailing the file sees whole lines. The
// hash chain runs on across rotations (verdict_chain.h); the writer only moves lines.
//
// Not here: what a line says (verdict_log.h). Not thread-safe: one writer per loop.
#ifndef FLATWALL_AGENT_DAEMON_VERDICT_LOG_WRITER_H_
#define FLATWALL_AGENT_DAEMON_VERDICT_LOG_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatwall::agent {

struct VerdictLogOptions {
  std::string path = "-";  // "-" is stdout (never rotated)
  // The active file stays at most this size, unless a single line is longer (it then
  // gets a file of its own). 0: never rotate.
  uint64_t max_bytes = 100ull << 20;
  // Rotated files kept besides the active one: path.1 (newest) ... path.<max_files>.
  // 0: at the limit the active file is truncated instead.
  int max_files = 5;
};

class VerdictLogWriter {
 public:
  // Opens (appending to) the file, creating it if missing; an existing file's size counts
  // toward max_bytes, so a restarted agent continues where it left off.
  // Errors: InvalidArgument for an empty path or negative max_files; the errno's code
  // (NotFound, PermissionDenied, ...) naming the path when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<VerdictLogWriter>> Open(const VerdictLogOptions& options);

  ~VerdictLogWriter();
  VerdictLogWriter(const VerdictLogWriter&) = delete;
  VerdictLogWriter& operator=(const VerdictLogWriter&) = delete;

  // Writes each line followed by '\n' (lines must not contain '\n' themselves: serialized
  // JSON never does), rotating between lines as needed, then flushes.
  // Errors: the errno's code naming the path and the failed step (write, rename, open).
  absl::Status Write(const std::vector<std::string>& lines);

  uint64_t current_bytes() const { return current_bytes_; }

 private:
  VerdictLogWriter(VerdictLogOptions options, std::FILE* file, uint64_t size);
  absl::Status Rotate();
  absl::Status ShiftRotatedFiles();

  VerdictLogOptions options_;
  std::FILE* file_;
  uint64_t current_bytes_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_VERDICT_LOG_WRITER_H_
