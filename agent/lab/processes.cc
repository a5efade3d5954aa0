#include "agent/lab/processes.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/lab/netns.h"

namespace flatwall::lab {
namespace {

constexpr auto kKillWait = std::chrono::seconds(2);
constexpr auto kPollInterval = std::chrono::milliseconds(10);

// True unless the thread whose /proc/<pid>/task/<tid> directory this is has exited
// (zombie or dead) or is gone.
bool TaskRunning(const std::filesystem::path& task_dir) {
  std::ifstream stat_file(task_dir / "stat");
  std::string stat_line;
  if (!std::getline(stat_file, stat_line)) return false;
  // "pid (comm) S …": the state follows the last ')' (comm may itself hold ')').
  size_t paren = stat_line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat_line.size()) return false;
  char state = stat_line[paren + 2];
  return state != 'Z' && state != 'X';
}

// The directory of a thread of `pid` that has not exited, if any. Every thread counts: a
// multi-threaded process's first thread turns zombie as soon as it exits itself (and
// loses its /proc/<pid>/ns), while the other threads still hold the process's files —
// the agent's listening socket, for one — until they have exited too.
std::optional<std::filesystem::path> RunningTask(pid_t pid) {
  std::error_code error;
  std::filesystem::directory_iterator task(absl::StrCat("/proc/", pid, "/task"), error);
  for (; !error && task != std::filesystem::directory_iterator(); task.increment(error)) {
    if (TaskRunning(task->path())) return task->path();
  }
  return std::nullopt;
}

// The inode of the network namespace of a running thread of `pid`.
std::optional<ino_t> RunningNetnsInode(pid_t pid) {
  std::optional<std::filesystem::path> task = RunningTask(pid);
  struct stat info;
  if (!task || stat((*task / "ns" / "net").c_str(), &info) != 0) return std::nullopt;
  return info.st_ino;
}

// Waits until none of `pids` is alive or `timeout` passes; returns those still alive.
std::vector<pid_t> WaitForExit(std::vector<pid_t> pids, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    pids.erase(
        std::remove_if(pids.begin(), pids.end(), [](pid_t pid) { return !ProcessAlive(pid); }),
        pids.end());
    if (pids.empty() || std::chrono::steady_clock::now() >= deadline) return pids;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

bool ProcessAlive(pid_t pid) { return RunningTask(pid).has_value(); }

bool ProcessInNetns(pid_t pid, const std::string& netns) {
  absl::StatusOr<ino_t> inode = NetnsInode(netns);
  return inode.ok() && RunningNetnsInode(pid) == *inode;
}

std::vector<pid_t> ProcessesInNetns(const std::string& netns) {
  std::vector<pid_t> pids;
  absl::StatusOr<ino_t> inode = NetnsInode(netns);
  if (!inode.ok()) return pids;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (RunningNetnsInode(pid) == *inode) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

absl::Status StopProcesses(const std::vector<pid_t>& pids, std::chrono::milliseconds grace) {
  for (pid_t pid : pids) kill(pid, SIGTERM);
  return KillProcesses(WaitForExit(pids, grace));
}

absl::Status KillProcesses(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) kill(pid, SIGKILL);
  std::vector<pid_t> left = WaitForExit(pids, kKillWait);
  if (left.empty()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("processes still running after SIGKILL: ", absl::StrJoin(left, ", ")));
}

absl::Status StopProcessesInNetns(const std::string& netns, std::chrono::milliseconds grace) {
  return StopProcesses(ProcessesInNetns(netns), grace);
}

}  // namespace flatwall::lab
