#include "agent/cli/verdict_records.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace flatwall::cli {
namespace {

using nlohmann::json;

uint64_t SeqOf(absl::string_view line) {
  json record = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (record.is_object() && record.contains("seq") && record["seq"].is_number_unsigned()) {
    return record["seq"].get<uint64_t>();
  }
  return 0;
}

// "x/a(10.10.1.5:80)", "node(10.10.1.1)", "8.8.8.8:53", "service(10.96.0.10:80)".
std::string EndText(const json& end) {
  std::string address = FieldText(end, "ip");
  if (end.contains("port")) {
    address = address.find(':') != std::string::npos
                  ? absl::StrCat("[", address, "]:", FieldText(end, "port"))
                  : absl::StrCat(address, ":", FieldText(end, "port"));
  }
  const std::string kind = FieldText(end, "kind");
  if (end.contains("name")) {
    return absl::StrCat(FieldText(end, "namespace"), "/", FieldText(end, "name"), "(", address,
                        ")");
  }
  if (kind == "node" || kind == "service") return absl::StrCat(kind, "(", address, ")");
  if (kind == "unattributed") return "(no pod)";
  if (kind == "unknown") return "?";
  return address;
}

}  // namespace

std::string IsolatingPolicyKey(const json& entry) {
  if (entry.is_string()) return entry.get<std::string>();
  if (!entry.is_object() || !entry.contains("name")) return "";
  return absl::StrCat(FieldText(entry, "namespace"), "/", FieldText(entry, "name"));
}

absl::StatusOr<OpenedLog> ReadLogFile(const std::string& path) {
  OpenedLog file{open(path.c_str(), O_RDONLY | O_CLOEXEC), ""};
  if (file.fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  char buffer[1 << 16];
  ssize_t got;
  while ((got = read(file.fd, buffer, sizeof(buffer))) > 0) {
    file.contents.append(buffer, static_cast<size_t>(got));
  }
  return file;
}

std::vector<LogLine> CompleteLines(const std::string& path, absl::string_view contents) {
  const size_t complete = contents.rfind('\n') + 1;  // 0 when there is none
  std::vector<LogLine> lines;
  size_t number = 0;
  for (absl::string_view text : absl::StrSplit(contents.substr(0, complete), '\n')) {
    ++number;
    if (text.empty()) continue;
    lines.push_back({SeqOf(text), std::string(text), absl::StrCat(path, ":", number)});
  }
  return lines;
}

absl::StatusOr<std::vector<LogLine>> ReadLogsInChainOrder(const std::vector<std::string>& paths) {
  std::vector<LogLine> lines;
  for (const std::string& path : paths) {
    absl::StatusOr<OpenedLog> file = ReadLogFile(path);
    if (!file.ok()) return file.status();
    close(file->fd);
    std::vector<LogLine> more = CompleteLines(path, file->contents);
    lines.insert(lines.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const LogLine& a, const LogLine& b) { return a.seq < b.seq; });
  return lines;
}

std::string FieldText(const json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string RecordText(const json& record) {
  std::string text = absl::StrCat(FieldText(record, "time"), " ", FieldText(record, "node"),
                                  " #", FieldText(record, "seq"));
  const std::string reason = FieldText(record, "reason");
  if (reason == "STARTUP") {
    absl::StrAppend(&text, " STARTUP agent started reading events");
    if (record.contains("chain_restart")) {
      absl::StrAppend(&text, "; chain restarted: ", FieldText(record, "chain_restart"));
    }
    return text;
  }
  if (reason == "SUPPRESSED") {
    return absl::StrCat(text, " SUPPRESSED ", FieldText(record, "count"), " event(s) of ",
                        record.contains("endpoint") ? EndText(record["endpoint"]) : "?",
                        " dropped by the rate limit or a full ring buffer");
  }
  std::string protocol = FieldText(record, "protocol");
  if (auto flags = record.find("tcp_flags"); flags != record.end() && flags->is_array()) {
    std::vector<std::string> names;
    for (const json& flag : *flags) {
      names.push_back(flag.is_string() ? flag.get<std::string>() : "?");
    }
    absl::StrAppend(&protocol, "[", absl::StrJoin(names, ","), "]");
  }
  if (auto icmp = record.find("icmp"); icmp != record.end() && icmp->contains("type")) {
    absl::StrAppend(&protocol, "[", FieldText(*icmp, "type"), "/", FieldText(*icmp, "code"), "]");
  }
  absl::StrAppend(&text, " ", absl::AsciiStrToUpper(FieldText(record, "verdict")), " ", reason, " ",
                  FieldText(record, "direction"), " ", protocol, " ",
                  record.contains("src") ? EndText(record["src"]) : "?", " -> ",
                  record.contains("dst") ? EndText(record["dst"]) : "?");
  if (auto policy = record.find("policy"); policy != record.end()) {
    if (policy->contains("name")) {
      absl::StrAppend(&text, " by ", FieldText(*policy, "namespace"), "/",
                      FieldText(*policy, "name"), " ", FieldText(*policy, "direction"), "[",
                      FieldText(*policy, "index"), "]");
    } else {
      absl::StrAppend(&text, " by rule ", FieldText(*policy, "rule_id"));
    }
  }
  if (auto isolating = record.find("isolated_by"); isolating != record.end()) {
    std::vector<std::string> names;
    for (const json& entry : *isolating) {
      const std::string key = IsolatingPolicyKey(entry);
      names.push_back(key.empty() ? entry.dump() : key);
    }
    absl::StrAppend(&text, " isolated by ", names.empty() ? "(none)" : absl::StrJoin(names, ","));
  }
  if (record.contains("time_end")) {
    absl::StrAppend(&text, " x", FieldText(record, "packets"), " packets, ",
                    FieldText(record, "bytes"), " bytes until ", FieldText(record, "time_end"));
  }
  return text;
}

}  // namespace flatwall::cli
