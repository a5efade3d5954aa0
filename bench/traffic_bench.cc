// Real TCP traffic between lab pods through enforced veths, compared with the same lab
// with no programs attached and with an equivalent iptables rule set (issue 4, Benchmark).
//
// One lab (agent_bench_lab.yaml + agent_bench_allow_client.yaml, with agents) is switched
// between three modes, in rounds (each starting with the next mode), so that drift in the
// machine's load hits every mode alike:
//   enforced     the agents run; the servers are isolated and admit the client
//   no programs  the agents stopped and `flatwall-agent --uninstall` run in every node
//   iptables     no programs, plus in every node's filter table: FORWARD policy DROP,
//                ESTABLISHED,RELATED accepted, NEW from the client to each server accepted
// (the lab's own nat table, kube-proxy-style Service rules, stays in all three, so
// conntrack runs in the nodes in every mode). Each mode is checked before it is measured:
// another pod reaches the cross-node server only with no programs.
//
// Measured per client -> server pair, each with a client and a server thread of this
// process in the pods' namespaces: request/response of 1 byte on one connection (TCP_RR),
// a new connection per 1-byte request (TCP_CRR: connect, request, response, close), and
// single-stream bulk throughput (128 KiB writes, counted by the receiver after 1 s).
//
// Usage (root): traffic_bench --lab NAME [--client bench/client]
//   [--servers bench/server,bench/local-server] [--other bench/local-server]
//   [--rounds 3] [--round-trips 20000] [--connections 2000] [--bulk-seconds 5]
//   [--rr-port 7200] [--bulk-port 7201] [--modes enforced,none,iptables]
// (--connections 0 / --bulk-seconds 0 skip those tests; % columns need mode "none").
// Run by bench/run_agent_bench.sh, never by ctest.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent/cli/command_line.h"
#include "agent/lab/agent_launcher.h"
#include "agent/lab/lab.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/netns.h"
#include "agent/lab/run_command.h"
#include "agent/lab/pod_sockets.h"
#include "bench/sample_stats.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::bench {
namespace {

using Clock = std::chrono::steady_clock;
using lab::Ipv4SocketAddress;
using lab::ListenInNetns;
using lab::SetNoDelay;
using lab::SetResetOnClose;

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

enum class Mode { kEnforced, kNoPrograms, kIptables };
constexpr Mode kModes[] = {Mode::kEnforced, Mode::kNoPrograms, Mode::kIptables};

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kEnforced: return "enforced (agents)";
    case Mode::kNoPrograms: return "no programs";
    case Mode::kIptables: return "iptables";
  }
  return "?";
}

struct Options {
  std::string lab;
  std::string client = "bench/client";
  std::vector<std::string> servers = {"bench/server", "bench/local-server"};
  std::string other = "bench/local-server";  // must not reach servers[0] unless unfiltered
  int rounds = 3;
  int round_trips = 20000;
  int connections = 2000;
  int bulk_seconds = 5;
  uint16_t rr_port = 7200;
  uint16_t bulk_port = 7201;
  std::vector<Mode> modes = {std::begin(kModes), std::end(kModes)};
};

bool ReadFull(int fd, char* data, size_t size) {
  while (size > 0) {
    ssize_t n = read(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Waits up to 100 ms for a connection on `listener`; -1 when none came.
int AcceptSoon(int listener) {
  pollfd readable{listener, POLLIN, 0};
  if (poll(&readable, 1, 100) != 1) return -1;
  return accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
}

// The server side of one pair, in the server pod's namespace: an echo server for the
// request/response tests and a sink for the bulk test, each on a thread of its own.
class PodServers {
 public:
  static absl::StatusOr<std::unique_ptr<PodServers>> Start(const lab::PodPlan& pod,
                                                           const Options& options) {
    FW_ASSIGN_OR_RETURN(int echo, ListenInNetns(pod.netns, options.rr_port, 128));
    absl::StatusOr<int> sink = ListenInNetns(pod.netns, options.bulk_port, 16);
    if (!sink.ok()) {
      close(echo);
      return sink.status();
    }
    return std::unique_ptr<PodServers>(new PodServers(echo, *sink));
  }
  ~PodServers() {
    stop_ = true;
    echo_thread_.join();
    sink_thread_.join();
    close(echo_);
    close(sink_);
  }

  // Bytes per second the sink received in its last connection, after its first second.
  double last_bulk_rate() const { return bulk_rate_; }

 private:
  PodServers(int echo, int sink) : echo_(echo), sink_(sink) {
    echo_thread_ = std::thread([this] { Echo(); });
    sink_thread_ = std::thread([this] { Sink(); });
  }

  void Echo() {
    while (!stop_) {
      int fd = AcceptSoon(echo_);
      if (fd < 0) continue;
      SetNoDelay(fd);
      char byte;
      while (ReadFull(fd, &byte, 1) && write(fd, &byte, 1) == 1) {
      }
      close(fd);
    }
  }

  void Sink() {
    std::vector<char> buffer(256 << 10);
    while (!stop_) {
      int fd = AcceptSoon(sink_);
      if (fd < 0) continue;
      Clock::time_point first{}, mark{};
      uint64_t total = 0, at_mark = 0;
      while (true) {
        ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n <= 0) break;
        Clock::time_point now = Clock::now();
        if (total == 0) first = now;
        total += static_cast<uint64_t>(n);
        if (at_mark == 0 && now - first >= std::chrono::seconds(1)) {
          mark = now;
          at_mark = total;
        }
      }
      double seconds = std::chrono::duration<double>(Clock::now() - mark).count();
      bulk_rate_ = at_mark > 0 && seconds > 0 ? static_cast<double>(total - at_mark) / seconds : 0;
      close(fd);
    }
  }

  int echo_;
  int sink_;
  std::atomic<bool> stop_{false};
  std::atomic<double> bulk_rate_{0};
  std::thread echo_thread_;
  std::thread sink_thread_;
};

// A blocking TCP connection from the calling thread's namespace; -1 on failure.
int ConnectTo(const sockaddr_in& address, int timeout_ms = 2000) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool RoundTrip(int fd) {
  char byte = 'x';
  return write(fd, &byte, 1) == 1 && ReadFull(fd, &byte, 1);
}

struct PairResult {
  std::vector<double> rr_us;
  std::vector<double> crr_us;
  double bulk_bytes_per_second = 0;
};

// The three measurements for one pair; the client side runs in the client's namespace.
absl::StatusOr<PairResult> MeasurePair(const lab::PodPlan& client, const lab::PodPlan& server,
                                       const Options& options) {
  FW_ASSIGN_OR_RETURN(std::unique_ptr<PodServers> servers, PodServers::Start(server, options));
  PairResult result;
  sockaddr_in rr = Ipv4SocketAddress(*server.ipv4, options.rr_port);
  sockaddr_in bulk = Ipv4SocketAddress(*server.ipv4, options.bulk_port);
  FW_RETURN_IF_ERROR(lab::RunInNetns(client.netns, [&]() -> absl::Status {
    int fd = ConnectTo(rr);
    if (fd < 0) return absl::UnavailableError(absl::StrCat(client.key, " cannot reach ", server.key));
    SetNoDelay(fd);
    bool ok = true;
    for (int i = 0; ok && i < 1000; ++i) ok = RoundTrip(fd);  // warm-up
    result.rr_us.reserve(options.round_trips);
    for (int i = 0; ok && i < options.round_trips; ++i) {
      Clock::time_point start = Clock::now();
      ok = RoundTrip(fd);
      result.rr_us.push_back(MicrosSince(start));
    }
    close(fd);
    if (!ok) return absl::InternalError("request/response connection broke");

    result.crr_us.reserve(options.connections);
    for (int i = 0; i < options.connections; ++i) {
      Clock::time_point start = Clock::now();
      int conn = ConnectTo(rr);
      if (conn < 0) return absl::InternalError("new connection failed");
      SetNoDelay(conn);
      ok = RoundTrip(conn);
      close(conn);
      if (!ok) return absl::InternalError("request on a new connection failed");
      result.crr_us.push_back(MicrosSince(start));
    }

    if (options.bulk_seconds == 0) return absl::OkStatus();
    fd = ConnectTo(bulk);
    if (fd < 0) return absl::UnavailableError("bulk connection failed");
    std::vector<char> chunk(128 << 10, 'b');
    Clock::time_point until = Clock::now() + std::chrono::seconds(1 + options.bulk_seconds);
    while (Clock::now() < until) {
      if (write(fd, chunk.data(), chunk.size()) <= 0) break;
    }
    close(fd);
    return absl::OkStatus();
  }));
  // The sink notes the rate when it sees the end of the stream.
  for (int i = 0; options.bulk_seconds > 0 && i < 50 && servers->last_bulk_rate() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  result.bulk_bytes_per_second = servers->last_bulk_rate();
  return result;
}

// Whether `from` can open a TCP connection to `to` on the echo port (which listens).
absl::StatusOr<bool> Reaches(const lab::PodPlan& from, const lab::PodPlan& to,
                             const Options& options) {
  FW_ASSIGN_OR_RETURN(std::unique_ptr<PodServers> servers, PodServers::Start(to, options));
  bool connected = false;
  FW_RETURN_IF_ERROR(lab::RunInNetns(from.netns, [&]() -> absl::Status {
    int fd = ConnectTo(Ipv4SocketAddress(*to.ipv4, options.rr_port), 300);
    connected = fd >= 0;
    if (fd >= 0) close(fd);
    return absl::OkStatus();
  }));
  return connected;
}

class ModeSwitcher {
 public:
  ModeSwitcher(const lab::LabState& state, const Options& options)
      : state_(state),
        names_(state.plan.lab_name),
        launcher_(names_, *state.agent),
        options_(options) {}

  absl::Status Enter(Mode mode) {
    FW_RETURN_IF_ERROR(SetIptables(false));
    if (mode == Mode::kEnforced) {
      for (const lab::NodePlan& node : state_.plan.nodes) {
        if (!launcher_.Pid(node)) FW_RETURN_IF_ERROR(launcher_.Start(node));
      }
      return absl::OkStatus();
    }
    for (const lab::NodePlan& node : state_.plan.nodes) {
      FW_RETURN_IF_ERROR(launcher_.Stop(node));
      FW_RETURN_IF_ERROR(lab::RunCommand(lab::InNetns(
                                             node.netns, {*state_.agent, "--uninstall", "--bpffs-root",
                                                          names_.BpffsRoot(node.name)}))
                             .status());
      // The uninstall leaves the (then empty) clsact qdiscs; without them the veths are as
      // `lab up --no-agents` builds them. Absent ones are fine.
      std::vector<std::string> links = {"eth0"};
      for (const lab::PodPlan& pod : state_.plan.pods) {
        if (pod.node == node.name) links.push_back(pod.host_veth);
      }
      for (const std::string& link : links) {
        lab::RunCommand(lab::InNetns(node.netns, {"tc", "qdisc", "del", "dev", link, "clsact"}))
            .IgnoreError();
      }
    }
    return mode == Mode::kIptables ? SetIptables(true) : absl::OkStatus();
  }

  // Leaves the lab as it was built: agents running, no filter rules.
  absl::Status Restore() { return Enter(Mode::kEnforced); }

 private:
  absl::Status SetIptables(bool on) {
    std::string rules = absl::StrCat("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ",
                                     on ? "DROP" : "ACCEPT", " [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    if (on) {
      const lab::PodPlan* client = state_.plan.FindPod(options_.client);
      absl::StrAppend(&rules, "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n");
      for (const std::string& key : options_.servers) {
        absl::StrAppend(&rules, "-A FORWARD -s ", client->ipv4->ToString(), "/32 -d ",
                        state_.plan.FindPod(key)->ipv4->ToString(),
                        "/32 -m conntrack --ctstate NEW -j ACCEPT\n");
      }
    }
    absl::StrAppend(&rules, "COMMIT\n");
    for (const lab::NodePlan& node : state_.plan.nodes) {
      // Only the filter table is in the input, so the lab's nat table stays as it is.
      FW_RETURN_IF_ERROR(
          lab::RunCommand(lab::InNetns(node.netns, {"iptables-restore"}), rules).status());
    }
    return absl::OkStatus();
  }

  const lab::LabState& state_;
  lab::LabNames names_;
  lab::AgentLauncher launcher_;
  const Options& options_;
};

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args) {
  cli::OptionSpec spec{.with_value = {"lab", "client", "servers", "other", "rounds",
                                      "round-trips", "connections", "bulk-seconds", "rr-port",
                                      "bulk-port", "modes"}};
  FW_ASSIGN_OR_RETURN(cli::CommandLine line, cli::CommandLine::Parse(args, spec));
  Options options;
  options.lab = line.ValueOr("lab", "");
  options.client = line.ValueOr("client", options.client);
  if (auto servers = line.Value("servers")) {
    options.servers = absl::StrSplit(*servers, ',', absl::SkipEmpty());
  }
  options.other = line.ValueOr("other", options.other);
  if (auto modes = line.Value("modes")) {
    options.modes.clear();
    for (absl::string_view name : absl::StrSplit(*modes, ',', absl::SkipEmpty())) {
      if (name == "enforced") options.modes.push_back(Mode::kEnforced);
      if (name == "none") options.modes.push_back(Mode::kNoPrograms);
      if (name == "iptables") options.modes.push_back(Mode::kIptables);
    }
  }
  bool numbers = absl::SimpleAtoi(line.ValueOr("rounds", "3"), &options.rounds) &&
                 absl::SimpleAtoi(line.ValueOr("round-trips", "20000"), &options.round_trips) &&
                 absl::SimpleAtoi(line.ValueOr("connections", "2000"), &options.connections) &&
                 absl::SimpleAtoi(line.ValueOr("bulk-seconds", "5"), &options.bulk_seconds);
  FW_ASSIGN_OR_RETURN(options.rr_port, cli::ParsePortOption("rr-port", line.ValueOr("rr-port", "7200")));
  FW_ASSIGN_OR_RETURN(options.bulk_port,
                      cli::ParsePortOption("bulk-port", line.ValueOr("bulk-port", "7201")));
  if (!numbers || options.lab.empty() || options.servers.empty() || options.rounds <= 0 ||
      options.round_trips <= 0 || options.connections < 0 || options.bulk_seconds < 0 ||
      options.modes.empty()) {
    return absl::InvalidArgumentError("bad arguments (see the usage at the top of the source)");
  }
  return options;
}

std::string Us(double value) { return absl::StrFormat("%.1f", value); }

absl::Status Main(const std::vector<std::string>& args) {
  FW_ASSIGN_OR_RETURN(Options options, ParseOptions(args));
  FW_ASSIGN_OR_RETURN(lab::LabState state, lab::LabStatus(options.lab));
  if (!state.agent) return absl::FailedPreconditionError("the lab must run with agents");
  std::vector<const lab::PodPlan*> pods;
  for (const std::string& key : options.servers) pods.push_back(state.plan.FindPod(key));
  const lab::PodPlan* client = state.plan.FindPod(options.client);
  const lab::PodPlan* other = state.plan.FindPod(options.other);
  for (const lab::PodPlan* pod : pods) {
    if (pod == nullptr || !pod->ipv4) return absl::NotFoundError("a server pod is missing");
  }
  if (client == nullptr || other == nullptr) return absl::NotFoundError("client or other pod missing");

  ModeSwitcher switcher(state, options);
  // results[server][mode], every round appended.
  std::map<std::string, std::map<Mode, PairResult>> pooled;
  std::map<std::string, std::map<Mode, std::vector<double>>> rates;
  for (int round = 0; round < options.rounds; ++round) {
    // Each round starts with another mode, so no mode always follows the same one.
    for (size_t m = 0; m < options.modes.size(); ++m) {
      Mode mode = options.modes[(round + m) % options.modes.size()];
      FW_RETURN_IF_ERROR(switcher.Enter(mode));
      // Retried: a freshly started agent may report ready a moment before its programs are
      // on the veths (seen with the agent of 2026-11-26); the wait is reported.
      Clock::time_point entered = Clock::now();
      bool as_expected = false;
      for (int attempt = 0; attempt < 20 && !as_expected; ++attempt) {
        FW_ASSIGN_OR_RETURN(bool other_reaches, Reaches(*other, *pods.front(), options));
        as_expected = other_reaches == (mode == Mode::kNoPrograms);
        if (!as_expected) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!as_expected) {
        return absl::InternalError(absl::StrCat("mode ", ModeName(mode), ": ", other->key,
                                                " -> ", pods.front()->key, " is not ",
                                                mode == Mode::kNoPrograms ? "allowed" : "denied"));
      }
      std::cerr << "round " << round + 1 << " " << ModeName(mode) << ": " << other->key << " -> "
                << pods.front()->key << " as expected after "
                << Us(MicrosSince(entered) / 1000) << " ms\n";
      for (const lab::PodPlan* server : pods) {
        FW_ASSIGN_OR_RETURN(PairResult result, MeasurePair(*client, *server, options));
        PairResult& all = pooled[server->key][mode];
        all.rr_us.insert(all.rr_us.end(), result.rr_us.begin(), result.rr_us.end());
        all.crr_us.insert(all.crr_us.end(), result.crr_us.begin(), result.crr_us.end());
        rates[server->key][mode].push_back(result.bulk_bytes_per_second * 8 / 1e9);
        std::cerr << "round " << round + 1 << " " << ModeName(mode) << " " << client->key
                  << " -> " << server->key << ": RR p50 " << Us(Quantile(result.rr_us, 0.5))
                  << " us, CRR p50 " << Us(Quantile(result.crr_us, 0.5)) << " us, "
                  << absl::StrFormat("%.2f", result.bulk_bytes_per_second * 8 / 1e9)
                  << " Gbit/s\n";
      }
    }
  }
  FW_RETURN_IF_ERROR(switcher.Restore());

  std::cout << options.rounds << " rounds; per round and mode: " << options.round_trips
            << " round trips of 1 byte on one connection (after 1000 warm-up), "
            << options.connections << " new connections with one 1-byte request each, "
            << options.bulk_seconds << " s of bulk transfer counted after 1 s. "
            << "Latency percentiles over every round's samples; throughput: median of the "
               "rounds (min-max).\n\n"
            << "| pair | mode | RR p50 µs | RR p99 µs | CRR p50 µs | CRR p99 µs | Gbit/s | "
               "% of no programs | RR p50 added | CRR p50 added |\n"
            << "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const lab::PodPlan* server : pods) {
    std::string pair = absl::StrCat(client->key, " -> ", server->key,
                                    server->node == client->node ? " (same node)" : " (cross-node)");
    const PairResult& base = pooled[server->key][Mode::kNoPrograms];
    double base_rr = Quantile(base.rr_us, 0.5), base_crr = Quantile(base.crr_us, 0.5);
    double base_rate = Quantile(rates[server->key][Mode::kNoPrograms], 0.5);
    for (Mode mode : options.modes) {
      const PairResult& r = pooled[server->key][mode];
      const std::vector<double>& rate = rates[server->key][mode];
      double rr50 = Quantile(r.rr_us, 0.5), crr50 = Quantile(r.crr_us, 0.5);
      double median_rate = Quantile(rate, 0.5);
      std::cout << "| " << pair << " | " << ModeName(mode) << " | " << Us(rr50) << " | "
                << Us(Quantile(r.rr_us, 0.99)) << " | " << Us(crr50) << " | "
                << Us(Quantile(r.crr_us, 0.99)) << " | "
                << absl::StrFormat("%.2f (%.2f–%.2f)", median_rate,
                                   *std::min_element(rate.begin(), rate.end()),
                                   *std::max_element(rate.begin(), rate.end()))
                << " | " << absl::StrFormat("%.1f %%", 100 * median_rate / base_rate) << " | "
                << absl::StrFormat("%+.1f %%", 100 * (rr50 - base_rr) / base_rr) << " | "
                << absl::StrFormat("%+.1f %%", 100 * (crr50 - base_crr) / base_crr) << " |\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace flatwall::bench

int main(int argc, char** argv) {
  absl::Status status = flatwall::bench::Main(std::vector<std::string>(argv + 1, argv + argc));
  if (!status.ok()) {
    std::cerr << "traffic_bench: " << status << "\n";
    return 1;
  }
  return 0;
}
