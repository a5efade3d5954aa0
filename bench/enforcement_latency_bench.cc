// Event-to-enforcement latency of the node agents in a running lab (issue 4, Benchmark).
//
// A policy file that flips one flow (client pod -> server pod) between denied and allowed
// is written straight into every node's manifest directory, as an operator or the API
// watch would (not through `lab apply`, whose own work would dominate). Meanwhile a prober
// inside the client pod's namespace starts a new TCP connection to the server pod every
// millisecond (non-blocking, several in flight); an attempt counts as allowed when its
// handshake completes and as denied when it fails or does not complete within the attempt
// timeout. The latency of a change runs from the write to the start of the first attempt
// from which on every attempt has the new verdict; the real moment lies between the start
// of the attempt before it and its own start, so the resolution is the probe spacing
// (reported). The server node's agent log says when its maps were written and what
// compile and apply took, which splits the latency into agent and datapath parts.
//
// Usage (root, a lab up with agents, e.g. from agent_bench_lab.yaml):
//   enforcement_latency_bench --lab NAME [--client bench/client] [--server bench/server]
//     [--port 7100] [--changes 120] [--probe-interval-us 1000] [--attempt-timeout-ms 100]
//     [--csv FILE]
// Run by bench/run_agent_bench.sh, never by ctest.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/cli/command_line.h"
#include "agent/lab/lab.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/netns.h"
#include "agent/lab/pod_sockets.h"
#include "bench/sample_stats.h"

namespace flatwall::bench {
namespace {

using Clock = std::chrono::steady_clock;
using lab::Ipv4SocketAddress;
using lab::ListenInNetns;
using lab::SetNoDelay;
using lab::SetResetOnClose;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

constexpr char kFlipFile[] = "bench-flip-policy.yaml";

// The flip policy: the same object each time, so every change after the first is an
// update of one NetworkPolicy. Both versions isolate the server; only one admits the client.
std::string FlipPolicy(const std::string& ns, const std::string& server_app,
                       const std::string& client_app, bool allow) {
  std::string yaml = absl::StrCat(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n",
      "metadata: {namespace: ", ns, ", name: bench-flip}\n",
      "spec:\n  podSelector: {matchLabels: {app: ", server_app, "}}\n",
      "  policyTypes: [Ingress]\n");
  if (allow) {
    absl::StrAppend(&yaml, "  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: ",
                    client_app, "}}\n");
  } else {
    absl::StrAppend(&yaml, "  ingress: []\n");
  }
  return yaml;
}

enum class Outcome { kPending, kConnected, kFailed };

struct Attempt {
  int64_t start_ns = 0;
  Outcome outcome = Outcome::kPending;
};

// Starts one connection attempt per tick inside the client's namespace and records each
// attempt's outcome. Attempts are kept in start order.
class Prober {
 public:
  Prober(sockaddr_in target, int64_t interval_ns, int64_t timeout_ns)
      : target_(target), interval_ns_(interval_ns), timeout_ns_(timeout_ns) {}

  // Runs until Stop(), on the calling thread (which must be in the client's namespace).
  absl::Status Run();
  void Stop() { stop_ = true; }

  // The attempts that started at or after `from_ns`, and whether they are resolved.
  std::vector<Attempt> Since(int64_t from_ns) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto first = std::lower_bound(
        attempts_.begin(), attempts_.end(), from_ns,
        [](const Attempt& attempt, int64_t start) { return attempt.start_ns < start; });
    return std::vector<Attempt>(first, attempts_.end());
  }

 private:
  void Launch(int epoll_fd);
  void Resolve(int epoll_fd, size_t index, Outcome outcome);

  const sockaddr_in target_;
  const int64_t interval_ns_;
  const int64_t timeout_ns_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Attempt> attempts_;   // guarded by mutex_
  std::map<size_t, int> in_flight_;  // attempt index -> socket (prober thread only)
};

absl::Status Prober::Run() {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd < 0 || timer_fd < 0) return absl::InternalError("epoll/timerfd");
  itimerspec every{};
  every.it_interval.tv_nsec = interval_ns_;
  every.it_value.tv_nsec = interval_ns_;
  timerfd_settime(timer_fd, 0, &every, nullptr);
  epoll_event timer_event{.events = EPOLLIN, .data = {.u64 = UINT64_MAX}};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &timer_event);
  epoll_event ready[64];
  while (!stop_) {
    int count = epoll_wait(epoll_fd, ready, 64, 20);
    for (int i = 0; i < count; ++i) {
      if (ready[i].data.u64 == UINT64_MAX) {
        uint64_t expirations = 0;
        if (read(timer_fd, &expirations, sizeof(expirations)) > 0) Launch(epoll_fd);
        continue;
      }
      size_t index = ready[i].data.u64;
      auto it = in_flight_.find(index);
      if (it == in_flight_.end()) continue;
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(it->second, SOL_SOCKET, SO_ERROR, &error, &length);
      Resolve(epoll_fd, index, error == 0 ? Outcome::kConnected : Outcome::kFailed);
    }
    // The oldest attempts are first: fail those past their timeout.
    int64_t now = NowNs();
    while (!in_flight_.empty()) {
      size_t oldest = in_flight_.begin()->first;
      int64_t started;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        started = attempts_[oldest].start_ns;
      }
      if (now - started < timeout_ns_) break;
      Resolve(epoll_fd, oldest, Outcome::kFailed);
    }
  }
  while (!in_flight_.empty()) Resolve(epoll_fd, in_flight_.begin()->first, Outcome::kFailed);
  close(timer_fd);
  close(epoll_fd);
  return absl::OkStatus();
}

void Prober::Launch(int epoll_fd) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  SetResetOnClose(fd);
  size_t index;
  int64_t start = NowNs();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    index = attempts_.size();
    attempts_.push_back({start, Outcome::kPending});
  }
  in_flight_[index] = fd;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target_), sizeof(target_)) == 0) {
    Resolve(epoll_fd, index, Outcome::kConnected);
    return;
  }
  if (errno != EINPROGRESS) {
    Resolve(epoll_fd, index, Outcome::kFailed);
    return;
  }
  epoll_event event{.events = EPOLLOUT, .data = {.u64 = index}};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

void Prober::Resolve(int epoll_fd, size_t index, Outcome outcome) {
  auto it = in_flight_.find(index);
  if (it == in_flight_.end()) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second, nullptr);
  close(it->second);  // a reset (SO_LINGER 0): no TIME_WAIT per attempt
  in_flight_.erase(it);
  std::lock_guard<std::mutex> lock(mutex_);
  attempts_[index].outcome = outcome;
}

// Accepts and closes every connection the prober makes, so the backlog never fills.
void AcceptAndClose(int listener, const std::atomic<bool>& stop) {
  fcntl(listener, F_SETFL, O_NONBLOCK);
  while (!stop) {
    pollfd readable{listener, POLLIN, 0};
    if (poll(&readable, 1, 20) != 1) continue;
    while (true) {
      int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      close(fd);
    }
  }
}

struct ChangeResult {
  bool allow = false;         // the new verdict
  absl::Time written_at;      // wall clock, to match the agent log
  std::optional<double> latency_ms;  // unset: not seen within the deadline
  double resolution_ms = 0;   // spacing of the attempts around the switch
  int early_new_verdicts = 0; // attempts with the new verdict before the switch (flapping)
  std::optional<double> agent_done_ms;  // agent log "update:" line after the write
  double compile_ms = 0;
  double apply_ms = 0;
};

// Where the attempts since the write switch to `allow` for good: the index of the first
// attempt from which every attempt has the new verdict, once `settle_ns` of resolved
// attempts confirm it; nullopt while not decided.
std::optional<size_t> SwitchPoint(const std::vector<Attempt>& attempts, bool allow,
                                  int64_t settle_ns) {
  Outcome wanted = allow ? Outcome::kConnected : Outcome::kFailed;
  std::optional<size_t> first_of_run;
  for (size_t i = 0; i < attempts.size(); ++i) {
    if (attempts[i].outcome == Outcome::kPending) return std::nullopt;
    if (attempts[i].outcome != wanted) {
      first_of_run.reset();
      continue;
    }
    if (!first_of_run) first_of_run = i;
    if (attempts[i].start_ns - attempts[*first_of_run].start_ns >= settle_ns) return first_of_run;
  }
  return std::nullopt;
}

void WriteAtomically(const std::string& path, const std::string& contents) {
  // A dot name: the agents ignore it until the rename gives it its real name.
  std::filesystem::path target(path);
  std::string temp = (target.parent_path() / ("." + target.filename().string() + ".tmp")).string();
  std::ofstream(temp, std::ios::trunc) << contents;
  std::filesystem::rename(temp, path);
}

// "update: ..." lines of an agent log: when each was logged and its compile/apply times.
struct AgentUpdate {
  absl::Time logged_at;
  double compile_ms = 0;
  double apply_ms = 0;
};

double DurationAfter(const std::string& line, const std::string& label) {
  size_t at = line.find(label);
  if (at == std::string::npos) return 0;
  std::string text = line.substr(at + label.size());
  text = text.substr(0, text.find_first_of(", \n"));
  absl::Duration duration;
  return absl::ParseDuration(text, &duration) ? absl::ToDoubleMilliseconds(duration) : 0;
}

std::vector<AgentUpdate> ReadAgentUpdates(const std::string& log_path) {
  std::vector<AgentUpdate> updates;
  std::ifstream log(log_path);
  std::string line;
  while (std::getline(log, line)) {
    if (line.find(" info update: ") == std::string::npos) continue;
    AgentUpdate update;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", line.substr(0, line.find(' ')), &update.logged_at,
                         &error)) {
      continue;
    }
    update.compile_ms = DurationAfter(line, "compile ");
    update.apply_ms = DurationAfter(line, "apply ");
    updates.push_back(update);
  }
  return updates;
}

std::string Ms(double value) { return absl::StrFormat("%.1f", value); }

void PrintSummary(const std::string& title, const std::vector<ChangeResult>& changes,
                  std::optional<bool> direction) {
  std::vector<double> latency, agent, compile, apply, resolution;
  int missed = 0, flapping = 0;
  for (const ChangeResult& change : changes) {
    if (direction && change.allow != *direction) continue;
    if (!change.latency_ms) {
      ++missed;
      continue;
    }
    latency.push_back(*change.latency_ms);
    resolution.push_back(change.resolution_ms);
    if (change.early_new_verdicts > 0) ++flapping;
    if (change.agent_done_ms) {
      agent.push_back(*change.agent_done_ms);
      compile.push_back(change.compile_ms);
      apply.push_back(change.apply_ms);
    }
  }
  auto row = [](const std::string& name, const std::vector<double>& values) {
    SampleSummary s = Summarize(values);
    std::cout << "| " << name << " | " << s.count << " | " << Ms(s.p50) << " | " << Ms(s.p99)
              << " | " << Ms(s.max) << " |\n";
  };
  std::cout << "\n" << title << " (missed: " << missed << ", flapping: " << flapping << ")\n"
            << "| ms | n | p50 | p99 | max |\n| --- | --- | --- | --- | --- |\n";
  row("write -> traffic sees new verdict", latency);
  row("write -> server agent logged maps written", agent);
  row("  of which compile", compile);
  row("  of which apply (map writes)", apply);
  row("probe spacing at the switch (resolution)", resolution);
}

absl::Status Main(const std::vector<std::string>& args) {
  cli::OptionSpec spec{.with_value = {"lab", "client", "server", "port", "changes",
                                      "probe-interval-us", "attempt-timeout-ms", "csv"}};
  auto line = cli::CommandLine::Parse(args, spec);
  if (!line.ok()) return line.status();
  std::string lab_name = line->ValueOr("lab", "");
  int port = 0, changes = 0, interval_us = 0, timeout_ms = 0;
  if (!absl::SimpleAtoi(line->ValueOr("port", "7100"), &port) ||
      !absl::SimpleAtoi(line->ValueOr("changes", "120"), &changes) ||
      !absl::SimpleAtoi(line->ValueOr("probe-interval-us", "1000"), &interval_us) ||
      !absl::SimpleAtoi(line->ValueOr("attempt-timeout-ms", "100"), &timeout_ms) ||
      lab_name.empty() || port <= 0 || port > 65535 || changes <= 0 || interval_us <= 0 ||
      interval_us >= 1000000 || timeout_ms <= 0) {
    return absl::InvalidArgumentError("bad arguments (see the usage at the top of the source)");
  }
  auto state = lab::LabStatus(lab_name);
  if (!state.ok()) return state.status();
  if (!state->agent) return absl::FailedPreconditionError("the lab runs without agents");
  const lab::PodPlan* client = state->plan.FindPod(line->ValueOr("client", "bench/client"));
  const lab::PodPlan* server = state->plan.FindPod(line->ValueOr("server", "bench/server"));
  if (client == nullptr || server == nullptr || !server->ipv4) {
    return absl::NotFoundError("client or server pod not in the lab (or no IPv4 address)");
  }
  lab::LabNames names(lab_name);
  std::string ns = server->key.substr(0, server->key.find('/'));
  // The policy selects by the pods' app labels, as agent_bench_lab.yaml sets them.
  auto flip = [&](bool allow) { return FlipPolicy(ns, "server", "client", allow); };
  auto write_everywhere = [&](bool allow) {
    std::string yaml = flip(allow);
    for (const lab::NodePlan& node : state->plan.nodes) {
      WriteAtomically(absl::StrCat(names.NodeManifestDir(node.name), "/", kFlipFile), yaml);
    }
  };

  auto listener = ListenInNetns(server->netns, static_cast<uint16_t>(port), 4096);
  if (!listener.ok()) return listener.status();
  std::atomic<bool> stop_accepting{false};
  std::thread acceptor(AcceptAndClose, *listener, std::cref(stop_accepting));
  const int64_t interval_ns = int64_t{interval_us} * 1000;
  const int64_t timeout_ns = int64_t{timeout_ms} * 1000000;
  Prober prober(Ipv4SocketAddress(*server->ipv4, static_cast<uint16_t>(port)), interval_ns,
                timeout_ns);
  absl::Status prober_status;
  std::thread probing([&] {
    prober_status = lab::RunInNetns(client->netns, [&] { return prober.Run(); });
  });
  auto finish = [&] {
    prober.Stop();
    probing.join();
    stop_accepting = true;
    acceptor.join();
    close(*listener);
    for (const lab::NodePlan& node : state->plan.nodes) {
      std::filesystem::remove(absl::StrCat(names.NodeManifestDir(node.name), "/", kFlipFile));
    }
  };
  // Waits until the verdict since `from_ns` settles on `allow`; the switch point or nullopt.
  const int64_t settle_ns = 100'000'000 + timeout_ns;
  auto wait_for = [&](int64_t from_ns, bool allow,
                      absl::Duration deadline) -> std::optional<std::vector<Attempt>> {
    absl::Time give_up = absl::Now() + deadline;
    while (absl::Now() < give_up) {
      std::vector<Attempt> attempts = prober.Since(from_ns);
      if (SwitchPoint(attempts, allow, settle_ns)) return attempts;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  };

  // Before the first flip policy the client reaches the server; the allow version then
  // makes every later change an update of the same object.
  write_everywhere(true);
  if (!wait_for(NowNs(), true, absl::Seconds(10))) {
    finish();
    return absl::FailedPreconditionError("the client never reached the server");
  }

  std::mt19937 random(42);
  std::uniform_int_distribution<int> pause_ms(150, 350);
  std::vector<ChangeResult> results;
  bool allow = true;
  for (int i = 0; i < changes; ++i) {
    allow = !allow;
    // A random pause so that writes do not fall into step with the agents' 1 s tick.
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    ChangeResult result{.allow = allow};
    int64_t written_ns = NowNs();
    result.written_at = absl::Now();
    write_everywhere(allow);
    std::optional<std::vector<Attempt>> attempts = wait_for(written_ns, allow, absl::Seconds(5));
    if (attempts) {
      size_t at = *SwitchPoint(*attempts, allow, settle_ns);
      result.latency_ms = static_cast<double>((*attempts)[at].start_ns - written_ns) / 1e6;
      // The attempt before the switch point: at `at - 1`, or the last one before the write.
      int64_t previous_start = written_ns;
      if (at > 0) {
        previous_start = (*attempts)[at - 1].start_ns;
      } else {
        for (const Attempt& before : prober.Since(written_ns - 50'000'000)) {
          if (before.start_ns < written_ns) previous_start = before.start_ns;
        }
      }
      result.resolution_ms = static_cast<double>((*attempts)[at].start_ns - previous_start) / 1e6;
      Outcome wanted = allow ? Outcome::kConnected : Outcome::kFailed;
      for (size_t k = 0; k < at; ++k) result.early_new_verdicts += (*attempts)[k].outcome == wanted;
    } else {
      // Not seen: make sure the next change starts from a known verdict.
      write_everywhere(allow);
      wait_for(NowNs(), allow, absl::Seconds(10));
    }
    results.push_back(result);
  }
  finish();
  if (!prober_status.ok()) return prober_status;

  // Match each change to the server node's first map write logged after it.
  const lab::NodePlan* server_node = nullptr;
  for (const lab::NodePlan& node : state->plan.nodes) {
    if (node.name == server->node) server_node = &node;
  }
  std::vector<AgentUpdate> updates =
      ReadAgentUpdates(absl::StrCat(names.NodeDir(server_node->name), "/agent.log"));
  size_t next_update = 0;
  for (ChangeResult& result : results) {
    // Log stamps have millisecond resolution: a stamp in the write's millisecond counts.
    absl::Time not_before = absl::FromUnixMillis(absl::ToUnixMillis(result.written_at));
    while (next_update < updates.size() && updates[next_update].logged_at < not_before) {
      ++next_update;
    }
    if (next_update == updates.size()) break;
    const AgentUpdate& update = updates[next_update++];
    result.agent_done_ms = absl::ToDoubleMilliseconds(update.logged_at - result.written_at);
    result.compile_ms = update.compile_ms;
    result.apply_ms = update.apply_ms;
  }

  if (auto csv_path = line->Value("csv")) {
    std::ofstream csv(*csv_path, std::ios::trunc);
    csv << "change,new_verdict,latency_ms,resolution_ms,early_new_verdicts,agent_done_ms,"
           "compile_ms,apply_ms\n";
    for (size_t i = 0; i < results.size(); ++i) {
      const ChangeResult& r = results[i];
      csv << i << "," << (r.allow ? "allow" : "deny") << ","
          << (r.latency_ms ? Ms(*r.latency_ms) : "") << "," << r.resolution_ms << ","
          << r.early_new_verdicts << "," << (r.agent_done_ms ? Ms(*r.agent_done_ms) : "") << ","
          << r.compile_ms << "," << r.apply_ms << "\n";
    }
  }
  std::cout << "changes: " << results.size() << ", probe every " << interval_us
            << " us, attempt timeout " << timeout_ms << " ms, " << client->key << " ("
            << client->node << ") -> " << server->key << " (" << server->node << ") port "
            << port << "\n";
  PrintSummary("all changes", results, std::nullopt);
  PrintSummary("allow -> deny", results, false);
  PrintSummary("deny -> allow", results, true);
  return absl::OkStatus();
}

}  // namespace
}  // namespace flatwall::bench

int main(int argc, char** argv) {
  absl::Status status = flatwall::bench::Main(std::vector<std::string>(argv + 1, argv + argc));
  if (!status.ok()) {
    std::cerr << "enforcement_latency_bench: " << status << "\n";
    return 1;
  }
  return 0;
}
