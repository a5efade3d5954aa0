#include "agent/lab/server_launcher.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/lab/daemon_spawner.h"
#include "agent/lab/pod_server.h"
#include "agent/lab/processes.h"

namespace flatwall::lab {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(10);
constexpr auto kPollInterval = std::chrono::milliseconds(5);

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

}  // namespace

absl::Status StartPodServers(const LabNames& names, const std::string& flatwall_binary,
                             const std::vector<const PodPlan*>& pods) {
  std::vector<std::pair<const PodPlan*, pid_t>> started;
  for (const PodPlan* pod : pods) {
    std::string log = names.PodLogFile(pod->netns);
    std::string ready = names.PodReadyFile(pod->netns);
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(log).parent_path(), error);
    std::filesystem::remove(ready, error);
    std::vector<std::string> argv = {flatwall_binary, "lab", "serve"};
    for (std::string& arg : ServeArguments({pod->key, pod->ports, ready})) {
      argv.push_back(std::move(arg));
    }
    absl::StatusOr<pid_t> pid = SpawnDaemon({pod->netns, argv, log});
    if (!pid.ok()) return pid.status();
    started.emplace_back(pod, *pid);
  }
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (const auto& [pod, pid] : started) {
    std::string ready = names.PodReadyFile(pod->netns);
    while (!FileExists(ready)) {
      if (!ProcessAlive(pid)) {
        return absl::InternalError(absl::StrCat("the server of pod ", pod->key,
                                                " exited; its log:\n",
                                                LogTail(names.PodLogFile(pod->netns))));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("the server of pod ", pod->key, " did not start listening within 10s"));
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  return absl::OkStatus();
}

}  // namespace flatwall::lab
