// `flatwall logs`: reading verdict logs (docs/verdict-log.md) — filtering and printing
// records from an active file and its rotations, following a node's log as it grows and
// rotates, and `flatwall logs verify`, which checks the hash chain and the sequence.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/verdict_records.h"
#include "agent/daemon/verdict_chain.h"
#include "nlohmann/json.hpp"

namespace flatwall::cli {
namespace {

using nlohmann::json;

constexpr char kUsage[] =
    "usage: flatwall logs [--follow] [--verdict allow|deny] [--namespace N] [--pod [NS/]POD]\n"
    "                     [--policy [NS/]NAME] [-o text|json] FILE...\n"
    "       flatwall logs verify FILE...\n";
constexpr auto kFollowPoll = std::chrono::milliseconds(200);

struct Filter {
  std::optional<std::string> verdict;
  std::optional<std::string> pod_namespace;
  std::optional<std::string> pod;     // "name" or "namespace/name"
  std::optional<std::string> policy;  // "name" or "namespace/name"
};

// "name" matches the name alone; "namespace/name" both.
bool NameMatches(const std::string& wanted, const std::string& namespace_name,
                 const std::string& name) {
  if (wanted.find('/') != std::string::npos) return wanted == namespace_name + "/" + name;
  return wanted == name;
}

// The pod ends a record speaks of: src, dst, or the endpoint of a SUPPRESSED record.
std::vector<const json*> Ends(const json& record) {
  std::vector<const json*> ends;
  for (const char* key : {"src", "dst", "endpoint"}) {
    if (auto it = record.find(key); it != record.end() && it->is_object()) ends.push_back(&*it);
  }
  return ends;
}

// Records that are no verdict (SUPPRESSED, STARTUP) pass --verdict: the events they
// stand for may have had either verdict.
bool Matches(const json& record, const Filter& filter) {
  if (filter.verdict && record.contains("verdict") &&
      FieldText(record, "verdict") != *filter.verdict) {
    return false;
  }
  if (filter.pod_namespace || filter.pod) {
    bool any = false;
    for (const json* end : Ends(record)) {
      const std::string ns = FieldText(*end, "namespace"), name = FieldText(*end, "name");
      if (filter.pod_namespace && ns != *filter.pod_namespace) continue;
      if (filter.pod && (name.empty() || !NameMatches(*filter.pod, ns, name))) continue;
      any = true;
    }
    if (!any) return false;
  }
  if (filter.policy) {
    bool any = false;
    if (auto policy = record.find("policy"); policy != record.end() && policy->contains("name")) {
      any = NameMatches(*filter.policy, FieldText(*policy, "namespace"),
                        FieldText(*policy, "name"));
    }
    if (auto isolating = record.find("isolated_by"); isolating != record.end()) {
      for (const json& entry : *isolating) {
        const std::string text = IsolatingPolicyKey(entry);
        const size_t slash = text.find('/');
        if (slash == std::string::npos) continue;
        any = any || NameMatches(*filter.policy, text.substr(0, slash), text.substr(slash + 1));
      }
    }
    if (!any) return false;
  }
  return true;
}

struct Printer {
  const Filter& filter;
  bool json_output;
  std::ostream& out;
  std::ostream& err;

  // Prints `line` if it matches; a line that is no JSON object is reported on err.
  void Line(const std::string& line, const std::string& where) const {
    json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      err << "flatwall logs: " << where << ": not a JSON record, skipped\n";
      return;
    }
    if (!Matches(record, filter)) return;
    out << (json_output ? line : RecordText(record)) << "\n";
  }
};

int RunVerify(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err) {
  std::vector<agent::LogFileText> files;
  for (const std::string& path : paths) {
    absl::StatusOr<OpenedLog> file = ReadLogFile(path);
    if (!file.ok()) {
      err << "flatwall logs: " << file.status().message() << "\n";
      return 1;
    }
    close(file->fd);
    files.push_back({path, std::move(file->contents)});
  }
  agent::ChainReport report = agent::VerifyChain(files);
  if (!report.ok) {
    out << report.location << ": " << report.problem << "\n";
    return 1;
  }
  out << "ok: " << report.records << " record(s), seq " << report.first_seq << ".."
      << report.last_seq << ", chain intact across " << files.size() << " file(s)\n";
  return 0;
}

// Prints the complete lines the file open as `fd` (read up to `offset`) gains, and when
// `path` is replaced (rotated) or truncated, the rest of it and then the new `path` from
// its start. Runs until the process is stopped.
[[noreturn]] void Follow(const std::string& path, int fd, uint64_t offset,
                         const Printer& printer) {
  ino_t inode = 0;
  std::string pending;
  auto open_file = [&]() {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (fd >= 0 && fstat(fd, &info) == 0) inode = info.st_ino;
  };
  if (struct stat info {}; fstat(fd, &info) == 0) inode = info.st_ino;
  auto drain = [&]() {
    char buffer[1 << 16];
    ssize_t got;
    while (fd >= 0 && (got = pread(fd, buffer, sizeof(buffer), static_cast<off_t>(offset))) > 0) {
      offset += static_cast<uint64_t>(got);
      pending.append(buffer, static_cast<size_t>(got));
    }
    size_t end;
    while ((end = pending.find('\n')) != std::string::npos) {
      printer.Line(pending.substr(0, end), path);
      pending.erase(0, end + 1);
    }
    printer.out.flush();
  };
  while (true) {
    drain();
    std::this_thread::sleep_for(kFollowPoll);
    struct stat now {};
    const bool exists = stat(path.c_str(), &now) == 0;
    if (fd < 0) {
      if (exists) open_file();
      continue;
    }
    if (exists && (now.st_ino != inode || static_cast<uint64_t>(now.st_size) < offset)) {
      drain();  // the rest of the rotated file
      close(fd);
      offset = 0;
      pending.clear();
      open_file();
    }
  }
}

}  // namespace

int RunLogs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && args[0] == "verify") {
    std::vector<std::string> paths(args.begin() + 1, args.end());
    if (paths.empty()) {
      err << "flatwall logs verify: no FILE given\n" << kUsage;
      return 2;
    }
    return RunVerify(paths, out, err);
  }
  absl::StatusOr<CommandLine> line = CommandLine::Parse(
      args, {.with_value = {"verdict", "namespace", "pod", "policy", "o"}, .flags = {"follow"}});
  auto usage = [&err](const std::string& problem) {
    err << "flatwall logs: " << problem << "\n" << kUsage;
    return 2;
  };
  if (!line.ok()) return usage(std::string(line.status().message()));
  if (line->positional().empty()) return usage("no FILE given");
  const Filter filter{line->Value("verdict"), line->Value("namespace"), line->Value("pod"),
                      line->Value("policy")};
  if (filter.verdict && *filter.verdict != "allow" && *filter.verdict != "deny") {
    return usage("--verdict must be allow or deny");
  }
  const std::string format = line->ValueOr("o", "text");
  if (format != "text" && format != "json") return usage("-o must be text or json");
  const Printer printer{filter, format == "json", out, err};

  // Every complete line of every file, in chain order (files may be given in any order);
  // the file with the newest record is the one to follow.
  std::vector<LogLine> entries;
  std::string newest_file = line->positional().front();
  uint64_t newest_seq = 0;
  std::map<std::string, uint64_t> printed_bytes;  // per file: its complete lines
  std::map<std::string, int> descriptors;
  for (const std::string& path : line->positional()) {
    absl::StatusOr<OpenedLog> file = ReadLogFile(path);
    if (!file.ok()) {
      err << "flatwall logs: " << file.status().message() << "\n";
      return 1;
    }
    descriptors[path] = file->fd;
    printed_bytes[path] = file->contents.rfind('\n') + 1;  // 0 when there is none
    for (LogLine& entry : CompleteLines(path, file->contents)) {
      if (entry.seq > newest_seq) {
        newest_seq = entry.seq;
        newest_file = path;
      }
      entries.push_back(std::move(entry));
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const LogLine& a, const LogLine& b) { return a.seq < b.seq; });
  for (const LogLine& entry : entries) printer.Line(entry.text, entry.where);
  out.flush();
  if (!line->Flag("follow")) {
    for (const auto& [path, fd] : descriptors) close(fd);
    return 0;
  }
  // Right after a rotation the newest record is in path.1 and the active file is empty:
  // the active file is the one to follow.
  if (const size_t dot = newest_file.rfind('.'); dot != std::string::npos &&
      newest_file.find_first_not_of("0123456789", dot + 1) == std::string::npos) {
    if (const std::string active = newest_file.substr(0, dot); printed_bytes.count(active) > 0) {
      newest_file = active;
    }
  }
  for (const auto& [path, fd] : descriptors) {
    if (path != newest_file) close(fd);
  }
  Follow(newest_file, descriptors[newest_file], printed_bytes[newest_file], printer);
}

}  // namespace flatwall::cli
