// The verdict log's hash chain: every record carries its per-node sequence number `seq`
// and `prev_hash`, the SHA-256 (hex) of the previous record's exact line bytes (without
// the newline). One chain runs through the active file and its rotations and across agent
// restarts (a restarted agent continues from the last line it finds), so removing,
// reordering or altering a record breaks the chain at the next one.
//
// Here: sealing records as they are written, recovering the last link from the files,
// and verifying files (`flatwall logs verify`). Not here: what a record says
// (verdict_log.h), writing and rotating files (verdict_log_writer.h).
#ifndef FLATWALL_AGENT_DAEMON_VERDICT_CHAIN_H_
#define FLATWALL_AGENT_DAEMON_VERDICT_CHAIN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace flatwall::agent {

// The prev_hash of the first record a node ever writes (seq 1).
inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The last record of a chain: its seq (0 before the first) and the hash of its line.
struct ChainLink {
  uint64_t seq = 0;
  std::string hash = kGenesisHash;
};

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// Sets record["seq"] = last.seq + 1 and record["prev_hash"] = last.hash, serializes the
// record to one line (no newline) and advances `last` to it. Returns the line.
std::string SealRecord(nlohmann::json& record, ChainLink& last);

// The last link of the chain written to `path`: read from the last complete line of
// `path`, or of `path.1` when `path` is missing or holds no complete line (the agent
// stopped right after a rotation); a fresh ChainLink when neither has one.
// Errors: DataLoss naming the file and line when that line is not a sealed record (no
// integer `seq`); the errno's code when a file exists but cannot be read.
absl::StatusOr<ChainLink> RecoverChainLink(const std::string& path);

// One file of a log, as read: its name (for messages) and its bytes.
struct LogFileText {
  std::string name;
  std::string contents;
};

struct ChainReport {
  bool ok = false;
  uint64_t records = 0;
  uint64_t first_seq = 0;  // of the chain as given (earlier rotations may be gone)
  uint64_t last_seq = 0;
  // When !ok: the first bad line in chain order as "file:line" and why.
  std::string location;
  std::string problem;
};

// Checks that `files` (an active file and its rotations, in any order) hold one unbroken
// chain: within a file every line is a sealed record whose seq is one more than the line
// before and whose prev_hash is the hash of the line before; the files, ordered by their
// first seq, continue each other the same way; a chain that starts at seq 1 starts from
// kGenesisHash. A chain may start later (older rotations deleted). Empty files are
// skipped. The newest record is covered by no successor: altering it goes unnoticed.
ChainReport VerifyChain(const std::vector<LogFileText>& files);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_VERDICT_CHAIN_H_
