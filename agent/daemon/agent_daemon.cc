#include "agent/daemon/agent_daemon.h"

#include <bpf/libbpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/daemon/agent_health.h"
#include "agent/daemon/agent_log.h"
#include "agent/daemon/agent_metrics.h"
#include "agent/daemon/cluster_source.h"
#include "agent/daemon/directory_source.h"
#include "agent/daemon/http_endpoints.h"
#include "agent/daemon/kubernetes_source.h"
#include "agent/daemon/metrics.h"
#include "agent/daemon/reconciler.h"
#include "agent/daemon/verdict_log_pipeline.h"
#include "agent/datapath.h"
#include "agent/event_reader.h"
#include "agent/veth_attachments.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

constexpr absl::Duration kIdleTick = absl::Seconds(1);
constexpr absl::Duration kWaitingTick = absl::Milliseconds(200);  // a pod waits for its veth
constexpr absl::Duration kSampleInterval = absl::Seconds(5);

// SIGTERM, SIGINT and SIGHUP arrive on a descriptor the loop polls. Blocked before any
// thread starts, so no other thread takes them.
absl::StatusOr<int> OpenSignalFd() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
    return absl::InternalError("block SIGTERM/SIGINT/SIGHUP");
  }
  int fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return absl::InternalError("signalfd");
  return fd;
}

// libbpf reports expected outcomes on stderr ("Exclusivity flag on, cannot modify" when the
// clsact qdisc exists); its messages go to the agent's log at debug level instead.
int LibbpfToAgentLog(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char message[512];
  int length = vsnprintf(message, sizeof(message), format, args);
  std::string text(message, std::clamp(length, 0, static_cast<int>(sizeof(message)) - 1));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  LogDebug(absl::StrCat("libbpf: ", text));
  return length;
}

std::string DescribeEvents(const ReconcileResult& result) {
  return absl::StrCat(result.events, " event(s), ", result.entries_written,
                      " map entries, compile ", absl::FormatDuration(result.compile_time),
                      ", apply ", absl::FormatDuration(result.apply_time));
}

class Agent {
 public:
  explicit Agent(const AgentConfig& config) : config_(config), health_(absl::Now()) {}
  ~Agent() {
    if (signal_fd_ >= 0) close(signal_fd_);
  }

  absl::Status Start();
  absl::Status Run();

 private:
  absl::Status InitialSync();
  void OnSourceChange();
  void OnVerdictEvents();
  void Tick();
  void ReportSourceErrors();
  void UpdateReadiness();
  void ReportWatchStats();
  void Record(const absl::StatusOr<ReconcileResult>& result, const char* what);

  const AgentConfig& config_;
  AgentHealth health_;
  MetricsRegistry registry_;
  std::unique_ptr<AgentMetrics> metrics_;
  std::unique_ptr<HttpEndpoints> http_;
  std::unique_ptr<Datapath> datapath_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<ClusterSource> source_;
  std::unique_ptr<EventReader> events_;
  std::unique_ptr<VerdictLogPipeline> verdict_log_;
  int signal_fd_ = -1;
  size_t waiting_veths_ = 0;
  uint64_t reported_failed_reads_ = 0;
  std::vector<std::string> reported_problems_;
  bool first_state_taken_ = false;  // the source's first complete state went to the reconciler
  absl::Time enforced_state_read_at_ = absl::InfinitePast();
  absl::Time last_sample_ = absl::InfinitePast();
  std::string last_write_error_;
  std::string veth_failure_;  // the last pass's failed pod attachment; empty when none
};

absl::Status Agent::Start() {
  FW_ASSIGN_OR_RETURN(signal_fd_, OpenSignalFd());
  FW_ASSIGN_OR_RETURN(metrics_, AgentMetrics::Create(registry_));
  if (config_.source.kind == SourceConfig::kKubernetes) {
    FW_ASSIGN_OR_RETURN(source_, KubernetesSource::Connect({.kubeconfig = config_.source.kubeconfig,
                                                            .context = config_.source.context}));
  } else {
    FW_ASSIGN_OR_RETURN(source_, DirectorySource::Open(config_.source.directory));
  }
  // Listening first: /healthz answers while the first state compiles, /readyz says why
  // not yet.
  FW_ASSIGN_OR_RETURN(http_, HttpEndpoints::Start({.address = config_.listen}, registry_, health_));
  FW_ASSIGN_OR_RETURN(datapath_,
                      Datapath::Load({.pin_root = config_.bpffs_root,
                                      .conntrack_accounting = config_.conntrack_accounting}));
  reconciler_ = std::make_unique<Reconciler>(*datapath_, config_.node_name);
  if (config_.verdict_log != "off") {
    FW_ASSIGN_OR_RETURN(verdict_log_,
                        VerdictLogPipeline::Open({.log = {.path = config_.verdict_log,
                                                          .max_bytes = config_.verdict_log_max_bytes,
                                                          .max_files = config_.verdict_log_max_files},
                                                  .node_name = config_.node_name,
                                                  .aggregate_interval = config_.verdict_log_aggregate}));
    FW_ASSIGN_OR_RETURN(events_, EventReader::Start(*datapath_));
  }
  LogInfo(absl::StrCat("node ", config_.node_name, ": datapath pinned under ", config_.bpffs_root,
                       ", source ", source_->Describe(), ", listening on ", config_.listen,
                       ", verdict log ", config_.verdict_log, ", conntrack accounting ",
                       config_.conntrack_accounting ? "on" : "off"));
  // An API source lists in the background; the loop takes its first state when complete.
  if (!source_->complete()) {
    LogInfo("waiting for the source's first complete state");
    return absl::OkStatus();
  }
  return InitialSync();
}

absl::Status Agent::InitialSync() {
  absl::Time read_at = absl::Now();
  FW_ASSIGN_OR_RETURN(EventBatches batches, source_->Sync());
  first_state_taken_ = true;
  ReportSourceErrors();
  compiler::ClusterState state;
  state.Apply(std::move(batches));
  absl::StatusOr<ReconcileResult> result = reconciler_->Initialize(std::move(state));
  if (!result.ok()) Record(result, "initial sync");  // the tick retries it
  // Veths attached and metrics sampled before the agent reports ready.
  Tick();
  if (result.ok()) {
    Record(result, "initial sync");
    metrics_->SetSourceSynced(read_at);
    enforced_state_read_at_ = read_at;
  }
  return absl::OkStatus();
}

void Agent::Record(const absl::StatusOr<ReconcileResult>& result, const char* what) {
  if (!result.ok()) {
    last_write_error_ = std::string(result.status().message());
    LogError(absl::StrCat(what, ": ", last_write_error_, " (enforcement kept; resync pending)"));
    UpdateReadiness();
    return;
  }
  last_write_error_.clear();
  if (result->compile_time > absl::ZeroDuration()) {
    metrics_->ObserveCompileSeconds(absl::ToDoubleSeconds(result->compile_time));
  }
  if (result->entries_written > 0) {
    metrics_->ObserveApplySeconds(absl::ToDoubleSeconds(result->apply_time));
  }
  // Names can change without any map entry changing (a policy renamed, a pod replaced by
  // one with equal labels): the verdict log gets a snapshot after every change, in force
  // from the start of its write.
  if (verdict_log_ && (result->entries_written > 0 || result->events > 0)) {
    verdict_log_->SetImage(reconciler_->image(),
                           MonotonicNowNs() - absl::ToInt64Nanoseconds(result->apply_time));
  }
  LogInfo(absl::StrCat(what, ": ", DescribeEvents(*result)));
  UpdateReadiness();
}

void Agent::ReportSourceErrors() {
  for (uint64_t i = reported_failed_reads_; i < source_->failed_reads(); ++i) {
    metrics_->AddSourceError();
  }
  reported_failed_reads_ = source_->failed_reads();
  std::vector<std::string> problems = source_->Problems();
  if (problems == reported_problems_) return;
  for (const std::string& problem : problems) LogWarning(absl::StrCat("source: ", problem));
  if (problems.empty() && !reported_problems_.empty()) LogInfo("source: no problems left");
  reported_problems_ = std::move(problems);
}

// Ready once the first full state is written; a later write failure (a full map) makes the
// node not ready until a resync succeeds, and so does a source that cannot reach the
// cluster (the API server down or refusing) — the last state stays enforced meanwhile.
// Bad manifests do not: what they held before stays enforced, and the metrics and log say
// which files are bad. A local pod whose veth could not be attached (the kernel refused,
// its routes disagree) makes the node not ready until a pass attaches it; a pod whose veth
// does not exist yet does not, as every starting pod is briefly in that state.
void Agent::UpdateReadiness() {
  absl::Status source_health = source_->Health();
  if (!first_state_taken_) {
    std::string why = !source_health.ok() ? std::string(source_health.message())
                                          : "the source has not listed everything yet";
    health_.SetNotReady(absl::StrCat("waiting for first sync: source: ", why));
    return;
  }
  if (!reconciler_->initialized() || reconciler_->needs_resync()) {
    health_.SetNotReady(last_write_error_.empty()
                            ? "waiting for first sync"
                            : absl::StrCat("writing the datapath tables failed: ",
                                           last_write_error_));
    return;
  }
  if (!source_health.ok()) {
    health_.SetNotReady(absl::StrCat(
        "source: ", source_health.message(), "; enforcing the state of ",
        absl::FormatTime(absl::RFC3339_sec, enforced_state_read_at_, absl::UTCTimeZone())));
    return;
  }
  if (!veth_failure_.empty()) {
    health_.SetNotReady(veth_failure_);
    return;
  }
  health_.SetReady();
}

void Agent::ReportWatchStats() {
  std::vector<ResourceWatchStats> stats = source_->WatchStats();
  if (!stats.empty()) metrics_->SetWatchStats(stats);
}

void Agent::OnSourceChange() {
  if (!first_state_taken_) {
    if (source_->complete()) {
      if (absl::Status synced = InitialSync(); !synced.ok()) {
        LogError(absl::StrCat("source: ", synced.message()));
      }
    } else {
      UpdateReadiness();  // the source's health may have changed
    }
    ReportWatchStats();
    return;
  }
  absl::Time read_at = absl::Now();
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source_);
  if (!events.ok()) {
    LogError(absl::StrCat("source: ", events.status().message()));
    metrics_->AddSourceError();
    return;
  }
  ReportSourceErrors();
  if (!events->empty()) {
    Record(reconciler_->Apply(*events), "update");
    // Pods that came or went change which veths carry programs, now rather than at the
    // next tick.
    Tick();
  }
  // While the source fails, the enforced state is as old as its last healthy read.
  if (!reconciler_->needs_resync() && source_->Health().ok()) {
    metrics_->SetSourceSynced(read_at);
    enforced_state_read_at_ = read_at;
  }
  ReportWatchStats();
  UpdateReadiness();  // the source's health may have changed without events
}

void Agent::OnVerdictEvents() {
  absl::StatusOr<std::vector<fw_event>> events = events_->Poll(0);
  if (!events.ok()) {
    LogError(absl::StrCat("verdict events: ", events.status().message()));
    return;
  }
  if (events->empty()) return;
  if (absl::Status written = verdict_log_->Write(*events); !written.ok()) {
    LogError(absl::StrCat("verdict log: ", written.message()));
  }
}

void Agent::Tick() {
  absl::Time now = absl::Now();
  health_.Heartbeat(now);
  if (!first_state_taken_) {  // nothing to enforce yet; /readyz says what the source waits for
    UpdateReadiness();
    ReportSourceErrors();
    return;
  }
  if (verdict_log_) {
    if (absl::Status flushed = verdict_log_->Flush(); !flushed.ok()) {
      LogError(absl::StrCat("verdict log: ", flushed.message()));
    }
  }
  if (reconciler_->needs_resync()) Record(reconciler_->Resync(), "resync");
  absl::StatusOr<AttachReport> report = reconciler_->SyncInterfaces(config_.uplink);
  if (!report.ok()) {
    LogError(absl::StrCat("interfaces: ", report.status().message()));
  } else {
    for (const std::string& pod : report->attached) LogInfo(absl::StrCat("attached ", pod));
    for (const std::string& pod : report->detached) LogInfo(absl::StrCat("detached ", pod));
    veth_failure_.clear();
    for (const PodFailure& failure : report->failed) {
      LogWarning(absl::StrCat("veth of ", failure.pod, ": ", failure.status.message()));
    }
    for (const auto& [ifindex, status] : report->clean_failed) {
      LogWarning(absl::StrCat("veth of ifindex ", ifindex, ": ", status.message()));
    }
    if (!report->failed.empty()) {
      const PodFailure& first = report->failed.front();
      veth_failure_ = absl::StrCat("veth for pod ", first.pod,
                                   ": attach failed: ", first.status.message());
      if (report->failed.size() > 1) {
        absl::StrAppend(&veth_failure_, " (and ", report->failed.size() - 1, " more)");
      }
    }
    if (report->waiting.size() != waiting_veths_ && !report->waiting.empty()) {
      LogInfo(absl::StrCat("waiting for the veth of ", absl::StrJoin(report->waiting, ", ")));
    }
    waiting_veths_ = report->waiting.size();
    metrics_->SetVeths(reconciler_->AttachedPods(), waiting_veths_);
  }
  ReportSourceErrors();
  UpdateReadiness();  // a failing source's "for N s" moves on
  // Sampling materializes the image (O(image size)), so it is not done per event.
  if (now - last_sample_ >= kSampleInterval) {
    last_sample_ = now;
    metrics_->SetPolicyState(reconciler_->image());
    if (absl::Status sampled = metrics_->SampleDatapath(*datapath_, reconciler_->image());
        !sampled.ok()) {
      LogWarning(absl::StrCat("metrics: ", sampled.message()));
    }
  }
}

absl::Status Agent::Run() {
  absl::Time next_tick = absl::Now() + kIdleTick;
  // The datapath wakes the reader only for a backlog (event_reader.h): events are also
  // collected on this timer, which bounds their delay.
  const absl::Duration drain_interval = absl::Milliseconds(kEventDrainIntervalMs);
  absl::Time next_drain = absl::Now() + drain_interval;
  while (true) {
    std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0}, {source_->fd(), POLLIN, 0}};
    if (events_) fds.push_back({events_->fd(), POLLIN, 0});
    const absl::Time wake = events_ ? std::min(next_tick, next_drain) : next_tick;
    int timeout_ms = static_cast<int>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - absl::Now())));
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      return absl::InternalError("poll");
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
          if (first_state_taken_) {
            LogInfo("SIGHUP: resync");
            Record(reconciler_->Resync(), "resync");
          }
        } else {
          LogInfo(absl::StrCat("signal ", info.ssi_signo,
                               ": stopping; programs and maps stay pinned and attached"));
          return absl::OkStatus();
        }
      }
    }
    if (fds[1].revents & POLLIN) OnSourceChange();
    if (events_ && ((fds[2].revents & POLLIN) || absl::Now() >= next_drain)) {
      OnVerdictEvents();
      next_drain = absl::Now() + drain_interval;
    }
    if (absl::Now() >= next_tick) {
      Tick();
      next_tick = absl::Now() + (waiting_veths_ > 0 ? kWaitingTick : kIdleTick);
    }
  }
}

}  // namespace

absl::Status RunAgent(const AgentConfig& config) {
  libbpf_set_print(LibbpfToAgentLog);
  Agent agent(config);
  FW_RETURN_IF_ERROR(agent.Start());
  return agent.Run();
}

absl::Status UninstallAgent(const AgentConfig& config) {
  libbpf_set_print(LibbpfToAgentLog);
  std::error_code error;
  if (!std::filesystem::exists(config.bpffs_root, error)) {
    // Attached filters hold their programs without the pins (bpffs unmounted, pins
    // removed by hand): they still have to go.
    FW_RETURN_IF_ERROR(DetachEveryFlatwallFilter());
    LogInfo(absl::StrCat("nothing pinned under ", config.bpffs_root,
                         "; every Flatwall filter detached"));
    return absl::OkStatus();
  }
  FW_ASSIGN_OR_RETURN(std::unique_ptr<Datapath> datapath,
                      Datapath::Load({.pin_root = config.bpffs_root}));
  absl::Status detached = VethAttachments(*datapath).DetachAll();
  absl::Status removed = datapath->Uninstall();
  FW_RETURN_IF_ERROR(detached);
  FW_RETURN_IF_ERROR(removed);
  LogInfo(absl::StrCat("uninstalled: every program detached, every pin under ", config.bpffs_root,
                       " removed"));
  return absl::OkStatus();
}

}  // namespace flatwall::agent
