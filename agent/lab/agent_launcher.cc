#include "agent/lab/agent_launcher.h"

#include <linux/magic.h>
#include <signal.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "agent/lab/agent_http.h"
#include "agent/lab/daemon_spawner.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kPollInterval = std::chrono::milliseconds(20);
// Not a manifest name (the agent ignores dotfiles), but a change the agent notices.
constexpr char kSyncMarkerFile[] = ".flatwall-lab-sync";

// True when the agent inside `netns` answers GET /readyz with 200: it has enforced its
// first full cluster state.
bool Ready(const std::string& netns, uint16_t port) {
  absl::StatusOr<HttpReply> reply = HttpGetInNetns(netns, port, "/readyz");
  return reply.ok() && reply->status == 200;
}

}  // namespace

std::vector<std::string> AgentArguments(const AgentConfig& config) {
  std::vector<std::string> args = {
      "--node-name",  config.node_name,  "--source",      absl::StrCat("dir:", config.manifest_dir),
      "--bpffs-root", config.bpffs_root, "--verdict-log", config.verdict_log,
      "--listen",     config.listen};
  if (!config.kubeconfig.empty()) {
    args[3] = "kubernetes";
    args.insert(args.end(), {"--kubeconfig", config.kubeconfig});
  }
  return args;
}

absl::StatusOr<std::string> DefaultAgentPath(const std::string& flatwall_binary) {
  fs::path dir = fs::path(flatwall_binary).parent_path();
  std::vector<fs::path> candidates = {dir / "flatwall-agent", dir.parent_path() / "flatwall-agent"};
  for (const fs::path& candidate : candidates) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return absl::NotFoundError(absl::StrCat(
      "no agent binary: neither ", candidates[0].string(), " nor ", candidates[1].string(),
      " exists (build the flatwall-agent target, pass --agent PATH, or --no-agents)"));
}

AgentConfig AgentLauncher::ConfigFor(const NodePlan& node) const {
  return {node.name, names_.NodeManifestDir(node.name), names_.BpffsRoot(node.name),
          absl::StrCat(names_.NodeDir(node.name), "/verdicts.jsonl"),
          absl::StrCat("127.0.0.1:", kAgentListenPort), kubeconfig_};
}

std::string AgentLauncher::PidFile(const NodePlan& node) const {
  return absl::StrCat(names_.NodeDir(node.name), "/agent.pid");
}

std::string AgentLauncher::LogFile(const NodePlan& node) const {
  return absl::StrCat(names_.NodeDir(node.name), "/agent.log");
}

std::optional<pid_t> AgentLauncher::Pid(const NodePlan& node) const {
  std::ifstream in(PidFile(node));
  std::string text;
  int pid = 0;
  // The pid must still be an agent in this node's namespace: a pid from the file may
  // have been reused by an unrelated process since.
  if (std::getline(in, text) && absl::SimpleAtoi(text, &pid) && pid > 0 &&
      ProcessInNetns(pid, node.netns)) {
    return pid;
  }
  return std::nullopt;
}

absl::Status AgentLauncher::Start(const NodePlan& node) {
  if (std::optional<pid_t> running = Pid(node)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the agent of ", node.name, " is already running (pid ", *running, ")"));
  }
  // Without bpffs the pin root would be an ordinary directory, and pins would fail later
  // with a less helpful message from inside the agent.
  struct statfs bpffs;
  if (statfs(kBpffsRoot, &bpffs) != 0 || bpffs.f_type != BPF_FS_MAGIC) {
    return absl::FailedPreconditionError(absl::StrCat("bpffs is not mounted at ", kBpffsRoot,
                                                      " (mount -t bpf bpf ", kBpffsRoot, ")"));
  }
  AgentConfig config = ConfigFor(node);
  std::error_code error;
  for (const std::string& dir : {config.bpffs_root, config.manifest_dir}) {
    fs::create_directories(dir, error);
    if (error) return absl::InternalError(absl::StrCat("create ", dir, ": ", error.message()));
  }
  std::vector<std::string> argv = {agent_binary_};
  for (std::string& arg : AgentArguments(config)) argv.push_back(std::move(arg));
  absl::StatusOr<pid_t> pid = SpawnDaemon({node.netns, argv, LogFile(node)});
  if (!pid.ok()) return pid.status();
  std::ofstream(PidFile(node), std::ios::trunc) << *pid << "\n";
  return WaitUntilReady(node, *pid);
}

absl::Status AgentLauncher::WaitUntilReady(const NodePlan& node, pid_t pid) const {
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!Ready(node.netns, kAgentListenPort)) {
    if (!ProcessAlive(pid)) {
      return absl::InternalError(absl::StrCat("the agent of ", node.name, " exited; its log (",
                                              LogFile(node), "):\n", LogTail(LogFile(node))));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the agent of ", node.name, " was not ready (GET /readyz on 127.0.0.1:", kAgentListenPort,
          ") within 10s; its log: ", LogFile(node)));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::OkStatus();
}

absl::Status AgentLauncher::WaitUntilSynced(const NodePlan& node) const {
  if (!Pid(node)) return absl::OkStatus();
  const double requested = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  std::string marker = absl::StrCat(names_.NodeManifestDir(node.name), "/", kSyncMarkerFile);
  std::ofstream(marker, std::ios::trunc) << absl::StrCat(requested) << "\n";
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<HttpReply> reply = HttpGetInNetns(node.netns, kAgentListenPort, "/metrics");
    if (reply.ok()) {
      std::optional<double> synced =
          MetricValue(reply->body, "flatwall_source_synced_timestamp_seconds");
      if (synced && *synced >= requested) return absl::OkStatus();
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the agent of ", node.name, " did not enforce its manifests within 10s; its log: ",
      LogFile(node)));
}

absl::Status AgentLauncher::Stop(const NodePlan& node) {
  std::optional<pid_t> pid = Pid(node);
  if (!pid) return absl::OkStatus();
  return StopProcesses({*pid}, kStopGrace);
}

absl::Status AgentLauncher::Kill(const NodePlan& node) {
  std::optional<pid_t> pid = Pid(node);
  if (!pid) return absl::OkStatus();
  return KillProcesses({*pid});
}

}  // namespace flatwall::lab
