#include "agent/daemon/verdict_chain.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"

namespace flatwall::agent {
namespace {

// The last `limit` bytes of a file are enough to find its last line: records are a few
// hundred bytes (labels included).
constexpr std::streamoff kTailBytes = 1 << 20;

struct ParsedLine {
  uint64_t seq;
  std::string prev_hash;
};

// The seq and prev_hash of a sealed record, or why the line is not one.
absl::StatusOr<ParsedLine> ParseSealed(std::string_view line) {
  nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.is_object()) {
    return absl::DataLossError("not a JSON object (altered, or a torn write)");
  }
  auto seq = record.find("seq");
  auto prev = record.find("prev_hash");
  if (seq == record.end() || !seq->is_number_unsigned()) {
    return absl::DataLossError("no unsigned integer \"seq\" (not a sealed record)");
  }
  if (prev == record.end() || !prev->is_string()) {
    return absl::DataLossError("no string \"prev_hash\" (not a sealed record)");
  }
  return ParsedLine{seq->get<uint64_t>(), prev->get<std::string>()};
}

// The last line ended by '\n' in `path`. nullopt when the file is missing or has no
// complete line.
absl::StatusOr<std::optional<std::string>> LastCompleteLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    return absl::ErrnoToStatus(errno, absl::StrCat("read verdict log ", path));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - kTailBytes);
  in.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (!in) return absl::DataLossError(absl::StrCat("read verdict log ", path, ": short read"));
  // A crash mid-write can leave a torn last line: the chain continues from the line
  // before it, and verification reports the torn one.
  const size_t end = tail.rfind('\n');
  if (end == std::string::npos) return std::nullopt;
  const size_t begin = end == 0 ? std::string::npos : tail.rfind('\n', end - 1);
  if (begin == std::string::npos && start > 0) {
    return absl::DataLossError(absl::StrCat("verdict log ", path, ": last line longer than ",
                                            kTailBytes, " bytes"));
  }
  const size_t first = begin == std::string::npos ? 0 : begin + 1;
  if (first == end) return std::nullopt;  // an empty last line: nothing to chain to
  return tail.substr(first, end - first);
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string SealRecord(nlohmann::json& record, ChainLink& last) {
  record["seq"] = last.seq + 1;
  record["prev_hash"] = last.hash;
  std::string line = record.dump();
  last.seq += 1;
  last.hash = Sha256Hex(line);
  return line;
}

absl::StatusOr<ChainLink> RecoverChainLink(const std::string& path) {
  for (const std::string& candidate : {path, absl::StrCat(path, ".1")}) {
    absl::StatusOr<std::optional<std::string>> line = LastCompleteLine(candidate);
    if (!line.ok()) return line.status();
    if (!line->has_value()) continue;
    absl::StatusOr<ParsedLine> parsed = ParseSealed(**line);
    if (!parsed.ok()) {
      return absl::DataLossError(
          absl::StrCat("verdict log ", candidate, ": last line: ", parsed.status().message()));
    }
    return ChainLink{parsed->seq, Sha256Hex(**line)};
  }
  return ChainLink{};
}

ChainReport VerifyChain(const std::vector<LogFileText>& files) {
  struct Line {
    std::string_view text;
    ParsedLine parsed;
  };
  struct File {
    const LogFileText* source;
    std::vector<Line> lines;
  };
  ChainReport report;
  auto fail = [&](const std::string& name, size_t line, std::string problem) {
    report.ok = false;
    report.location = absl::StrCat(name, ":", line);
    report.problem = std::move(problem);
    return report;
  };

  // Every line must be a sealed record; a file's last line must end with a newline.
  std::vector<File> parsed_files;
  for (const LogFileText& file : files) {
    File parsed{&file, {}};
    std::string_view rest = file.contents;
    size_t number = 0;
    while (!rest.empty()) {
      ++number;
      const size_t end = rest.find('\n');
      if (end == std::string_view::npos) {
        return fail(file.name, number, "truncated: the last line has no newline (torn write)");
      }
      const std::string_view text = rest.substr(0, end);
      rest.remove_prefix(end + 1);
      absl::StatusOr<ParsedLine> line = ParseSealed(text);
      if (!line.ok()) return fail(file.name, number, std::string(line.status().message()));
      parsed.lines.push_back({text, *std::move(line)});
    }
    if (!parsed.lines.empty()) parsed_files.push_back(std::move(parsed));
  }
  std::stable_sort(parsed_files.begin(), parsed_files.end(), [](const File& a, const File& b) {
    return a.lines.front().parsed.seq < b.lines.front().parsed.seq;
  });

  // One walk over the chain in order: each line continues the one before it, within a
  // file and across a rotation boundary alike.
  const Line* previous = nullptr;
  std::string previous_location;
  for (const File& file : parsed_files) {
    for (size_t i = 0; i < file.lines.size(); ++i) {
      const Line& line = file.lines[i];
      const std::string& name = file.source->name;
      if (previous == nullptr) {
        report.first_seq = line.parsed.seq;
        if (line.parsed.seq == 1 && line.parsed.prev_hash != kGenesisHash) {
          return fail(name, i + 1, "seq 1 does not start from the genesis hash");
        }
      } else {
        const uint64_t want = previous->parsed.seq + 1;
        if (line.parsed.seq != want) {
          return fail(name, i + 1,
                      absl::StrCat("seq ", line.parsed.seq, " follows seq ", previous->parsed.seq,
                                   " (", previous_location, "): expected ", want, ", ",
                                   line.parsed.seq > want ? "records missing"
                                                          : "records repeated or reordered"));
        }
        if (line.parsed.prev_hash != Sha256Hex(previous->text)) {
          return fail(name, i + 1,
                      absl::StrCat("prev_hash is not the hash of the previous record (",
                                   previous_location, "): that record or this one was altered"));
        }
      }
      previous = &line;
      previous_location = absl::StrCat(name, ":", i + 1);
      report.last_seq = line.parsed.seq;
      ++report.records;
    }
  }
  report.ok = true;
  return report;
}

}  // namespace flatwall::agent
