#include "agent/lab/teardown.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;

// Agents get a moment to exit cleanly on SIGTERM; servers exit at once.
constexpr auto kStopGrace = std::chrono::seconds(3);

void Keep(absl::Status& first, absl::Status status) {
  if (first.ok()) first = std::move(status);
}

absl::Status Remove(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
  if (error)
    return absl::InternalError(absl::StrCat("remove ", path.string(), ": ", error.message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TeardownReport> TearDownLab(const std::string& lab_name) {
  if (absl::Status valid = ValidateLabName(lab_name); !valid.ok()) return valid;
  LabNames names(lab_name);
  TeardownReport report;
  absl::Status first;

  std::vector<std::string> namespaces = ListNetns(names.NetnsPrefix());
  std::vector<pid_t> processes;
  for (const std::string& netns : namespaces) {
    std::vector<pid_t> members = ProcessesInNetns(netns);
    processes.insert(processes.end(), members.begin(), members.end());
  }
  report.processes_stopped = static_cast<int>(processes.size());
  Keep(first, StopProcesses(processes, kStopGrace));

  for (const std::string& netns : namespaces) {
    absl::Status deleted = DeleteNetns(netns);
    if (deleted.ok()) report.namespaces_deleted.push_back(netns);
    Keep(first, deleted);
  }

  std::error_code error;
  for (const auto& entry : fs::directory_iterator(kBpffsRoot, error)) {
    if (entry.path().filename().string().rfind(names.BpffsPrefix(), 0) != 0) continue;
    absl::Status removed = Remove(entry.path());
    if (removed.ok()) report.pin_roots_removed.push_back(entry.path().string());
    Keep(first, removed);
  }

  if (fs::exists(names.StateDir(), error)) {
    absl::Status removed = Remove(names.StateDir());
    report.state_dir_removed = removed.ok();
    Keep(first, removed);
  }
  if (!first.ok()) return first;
  return report;
}

}  // namespace flatwall::lab
