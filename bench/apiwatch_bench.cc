// The api-watch client at scale (issue 5, Benchmark), against the fake Kubernetes API
// server (tests/api-watch/testing/fake_kube_api.h) run in a child process, so that the
// client process holds only the client:
// 1. Initial list: namespaces, NetworkPolicies and pods (realistic ~4 KB API objects with
//    managedFields and the rest, bench/api_objects.h) listed in pages over HttpTransport by
//    one ResourceWatcher per resource. Reports the wall time and the client's memory:
//    the heap the watchers keep afterwards (mallinfo2 in-use bytes, after minus before:
//    what their bookkeeping of the known objects costs), the RSS growth and the peak RSS
//    growth (VmHWM, which includes the pages and JSON being parsed and the listed objects
//    on their way to the sink).
//    With --state=1 (the default) the sink does what the agent does with the objects
//    (agent/daemon: KubernetesSource queues the lists' page batches, the first Sync applies
//    them to a compiler::ClusterState, freeing each batch once applied), and the figures
//    also cover that state: the heap the watchers and the ClusterState keep together, and
//    the peak RSS growth while the state is built. Not covered: the compiler's derived
//    state (selector indexes, the map image; see the compiler benchmark). With --state=0
//    the sink drops the events: the watchers alone.
// 2. Steady stream: the server modifies pods at a fixed rate, stamping each with the
//    CLOCK_MONOTONIC time of the write in a pod label (the model keeps no pod annotations,
//    and a label change is one the watcher must pass on). The pod watcher's sink takes
//    now - stamp as the event-to-diff latency (server write to the watcher's emitted
//    event). Reports p50/p99/max, and the client process's CPU time over the stream
//    (getrusage user + system, all its threads: the watcher and cpprestsdk's).
//
// Usage: apiwatch_bench [--pods=100000] [--policies=10000] [--namespaces=1000]
//                       [--rate=1000] [--seconds=20] [--page-size=500] [--state=1]
//                       [--unique-labels=0]   (1: every pod has a label set of its own)
// Run by bench/run_apiwatch_bench.sh, never by ctest.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api-watch/allocator_settings.h"
#include "api-watch/http_transport.h"
#include "api-watch/resource_watcher.h"
#include "bench/api_objects.h"
#include "policy-compiler/cluster_state.h"
#include "bench/sample_stats.h"
#include "tests/api-watch/testing/fake_kube_api.h"

namespace flatwall::bench {
namespace {

constexpr char kStampLabel[] = "bench.flatwall.io/written-ns";

struct Flags {
  int pods = 100000;
  int policies = 10000;
  int namespaces = 1000;
  int rate = 1000;
  int seconds = 20;
  int page_size = 500;
  int state = 1;  // 1: the sink builds the agent's ClusterState; 0: it drops the events
  int unique_labels = 0;  // 1: no two pods share their labels (ApiPod's unique_label)
};

bool ParseFlags(int argc, char** argv, Flags& flags) {
  std::map<std::string, int*> known = {{"--pods", &flags.pods},
                                       {"--policies", &flags.policies},
                                       {"--namespaces", &flags.namespaces},
                                       {"--rate", &flags.rate},
                                       {"--seconds", &flags.seconds},
                                       {"--page-size", &flags.page_size},
                                       {"--state", &flags.state},
                                       {"--unique-labels", &flags.unique_labels}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t equals = arg.find('=');
    auto flag = known.find(arg.substr(0, equals));
    if (equals == std::string::npos || flag == known.end() ||
        !absl::SimpleAtoi(arg.substr(equals + 1), flag->second) ||
        *flag->second < (flag->first == "--state" || flag->first == "--unique-labels" ? 0 : 1)) {
      std::cerr << "bad argument " << arg << "\n";
      return false;
    }
  }
  return true;
}

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// A /proc/self/status field in kB (VmRSS, VmHWM).
double StatusMegabytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t kilobytes = 0;
    std::string number = line.substr(field.size() + 1);
    number.erase(number.find(" kB"));
    absl::SimpleAtoi(number, &kilobytes);
    return static_cast<double>(kilobytes) / 1024.0;
  }
  return 0;
}

// Starts a new VmHWM measurement from the current RSS (Linux >= 4.0).
void ResetPeakRss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
}

double HeapInUseMegabytes() {
  struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd) / (1024.0 * 1024.0);
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

bool WriteLine(int fd, const std::string& line) {
  std::string text = line + "\n";
  return write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

// The child: fills a fake API server, says where it is, streams pod changes on request,
// and exits when the parent closes its end.
int RunServer(const Flags& flags, int commands, int replies) {
  apiwatch::testing::FakeKubeApi api;
  absl::Time start = absl::Now();
  auto upsert = [&](nlohmann::json object) {
    absl::StatusOr<nlohmann::json> stored = api.Upsert(std::move(object));
    if (!stored.ok()) std::cerr << stored.status() << "\n";
  };
  for (int i = 0; i < flags.namespaces; ++i) upsert(ApiNamespace(i));
  for (int i = 0; i < flags.policies; ++i) upsert(ApiNetworkPolicy(i, flags.namespaces));
  for (int i = 0; i < flags.pods; ++i) upsert(ApiPod(i, flags.namespaces, flags.unique_labels != 0));
  api.Compact(api.resource_version());  // the history of the fill is not needed
  std::cerr << absl::StrFormat("server: %d objects written in %.1f s\n",
                               flags.namespaces + flags.policies + flags.pods,
                               absl::ToDoubleSeconds(absl::Now() - start));
  WriteLine(replies, api.url());

  if (ReadLine(commands) != "stream") return 0;
  if (!api.WaitForOpenWatches(1, absl::Seconds(30))) {
    std::cerr << "server: the pod watch did not open\n";
    return 1;
  }
  int64_t events = int64_t{flags.rate} * flags.seconds;
  absl::Time stream_start = absl::Now();
  for (int64_t i = 0; i < events; ++i) {
    absl::Time due = stream_start + absl::Seconds(1) * (static_cast<double>(i) / flags.rate);
    absl::Duration wait = due - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    nlohmann::json pod =
        ApiPod(static_cast<int>(i % flags.pods), flags.namespaces, flags.unique_labels != 0);
    pod["metadata"]["labels"][kStampLabel] = absl::StrCat(MonotonicNanos());
    upsert(std::move(pod));
  }
  std::cerr << absl::StrFormat("server: %d pod events in %.2f s\n", events,
                               absl::ToDoubleSeconds(absl::Now() - stream_start));
  WriteLine(replies, "done");
  ReadLine(commands);  // until the parent closes
  return 0;
}

int RunClient(const Flags& flags, int commands, int replies) {
  std::string url = ReadLine(replies);
  if (url.empty()) {
    std::cerr << "the server did not start\n";
    return 1;
  }
  apiwatch::LimitMallocArenas();  // as the agent's KubernetesSource does
  double rss_before = StatusMegabytes("VmRSS");
  double heap_before = HeapInUseMegabytes();
  absl::StatusOr<std::unique_ptr<apiwatch::HttpTransport>> transport =
      apiwatch::HttpTransport::Create(
          {.server = url},
          {.request_timeout = absl::Seconds(60), .watch_timeout = absl::Seconds(60)});
  if (!transport.ok()) {
    std::cerr << transport.status() << "\n";
    return 1;
  }

  std::mutex latency_mutex;
  std::vector<double> latencies_us;
  std::atomic<bool> streaming = false;
  // As KubernetesSource's queue (--state=1): the batches as they came, a list's page each.
  compiler::EventBatches queued;
  auto sink = [&](compiler::EventBatches batches) {
    if (!streaming) {
      if (flags.state != 1) return;
      for (std::vector<compiler::ClusterEvent>& batch : batches) queued.push_back(std::move(batch));
      return;
    }
    int64_t now = MonotonicNanos();
    std::lock_guard<std::mutex> lock(latency_mutex);
    for (const std::vector<compiler::ClusterEvent>& batch : batches) {
      for (const compiler::ClusterEvent& event : batch) {
        const auto* pod = std::get_if<compiler::Pod>(&event.object);
        if (pod == nullptr) continue;
        auto stamp = pod->labels.find(kStampLabel);
        int64_t written = 0;
        if (stamp != pod->labels.end() && absl::SimpleAtoi(stamp->second, &written)) {
          latencies_us.push_back(static_cast<double>(now - written) / 1000.0);
        }
      }
    }
  };
  apiwatch::ResourceWatcherOptions options;
  options.page_size = flags.page_size;
  options.watch_timeout_seconds = flags.seconds + 60;
  options.on_problem = [](const absl::Status& status) { std::cerr << status << "\n"; };
  apiwatch::ResourceWatcher namespaces(apiwatch::ResourceKind::kNamespace, **transport, sink,
                                       options);
  apiwatch::ResourceWatcher policies(apiwatch::ResourceKind::kNetworkPolicy, **transport, sink,
                                     options);
  apiwatch::ResourceWatcher pods(apiwatch::ResourceKind::kPod, **transport, sink, options);

  // Peak RSS growth: VmHWM (restarted at the current RSS) minus the RSS before the lists.
  ResetPeakRss();
  absl::Time list_start = absl::Now();
  double list_cpu_start = CpuSeconds();
  for (apiwatch::ResourceWatcher* watcher : {&namespaces, &policies, &pods}) {
    watcher->Step();
    if (!watcher->last_status().ok() || !watcher->synced()) {
      std::cerr << "list failed: " << watcher->last_status() << "\n";
      return 1;
    }
  }
  double list_seconds = absl::ToDoubleSeconds(absl::Now() - list_start);
  double list_cpu_seconds = CpuSeconds() - list_cpu_start;
  double list_peak = StatusMegabytes("VmHWM") - rss_before;
  double objects = static_cast<double>(namespaces.known_count() + policies.known_count() +
                                       pods.known_count());
  auto per_object = [&](double megabytes) { return megabytes * 1024 * 1024 / objects; };

  // The agent's first Sync: the queued events applied to a ClusterState, then freed.
  compiler::ClusterState state;
  double state_heap = 0;
  double state_peak = 0;
  if (flags.state == 1) {
    ResetPeakRss();
    state.Apply(std::exchange(queued, {}));  // as the agent's first Sync
    state_peak = StatusMegabytes("VmHWM") - rss_before;
    state_heap = HeapInUseMegabytes() - heap_before;
  }
  std::cout << absl::StrFormat(
      "initial list: %d namespaces, %d policies, %d pods (page size %d) in %.2f s, "
      "client CPU %.2f s\n"
      "  peak RSS growth during the lists (VmHWM): %.1f MB\n",
      namespaces.known_count(), policies.known_count(), pods.known_count(), flags.page_size,
      list_seconds, list_cpu_seconds, list_peak);
  if (flags.state == 1) {
    std::cout << absl::StrFormat(
        "  watchers + the agent's ClusterState: heap kept %.1f MB (%.0f bytes per object), "
        "RSS growth %.1f MB; peak RSS growth while the state is built %.1f MB\n",
        state_heap, per_object(state_heap), StatusMegabytes("VmRSS") - rss_before, state_peak);
  } else {
    double heap_after = HeapInUseMegabytes() - heap_before;
    std::cout << absl::StrFormat(
        "  the watchers alone: heap kept (mallinfo2 in-use delta) %.1f MB (%.0f bytes per "
        "object), RSS growth %.1f MB\n",
        heap_after, per_object(heap_after), StatusMegabytes("VmRSS") - rss_before);
  }
  state = {};

  // Phase 2: the pod watch, on its own thread, while the server streams.
  streaming = true;
  std::thread watch([&] {
    pods.Run([&] { return !streaming; }, [](absl::Duration delay) { absl::SleepFor(delay); });
  });
  WriteLine(commands, "stream");
  double cpu_start = CpuSeconds();
  absl::Time wall_start = absl::Now();
  std::string reply = ReadLine(replies);
  absl::SleepFor(absl::Milliseconds(200));  // the last events in flight
  double cpu_seconds = CpuSeconds() - cpu_start;
  double wall_seconds = absl::ToDoubleSeconds(absl::Now() - wall_start);
  streaming = false;
  (*transport)->Cancel();
  watch.join();
  if (reply != "done") {
    std::cerr << "the server did not finish streaming\n";
    return 1;
  }
  std::vector<double> samples;
  {
    std::lock_guard<std::mutex> lock(latency_mutex);
    samples = latencies_us;
  }
  SampleSummary summary = Summarize(samples);
  std::cout << absl::StrFormat(
      "steady stream: %d pod events/s for %d s: %d events received\n"
      "  client CPU: %.2f s over %.2f s = %.1f%% of one core\n"
      "  event-to-diff latency: p50 %.0f us, p99 %.0f us, max %.0f us\n"
      "  pod watch: %d watches, %d malformed, last status %s\n",
      flags.rate, flags.seconds, summary.count, cpu_seconds, wall_seconds,
      100.0 * cpu_seconds / wall_seconds, summary.p50, summary.p99, summary.max,
      pods.counters().watches, pods.counters().malformed, pods.last_status().ToString());
  return 0;
}

}  // namespace
}  // namespace flatwall::bench

int main(int argc, char** argv) {
  flatwall::bench::Flags flags;
  if (!flatwall::bench::ParseFlags(argc, argv, flags)) return 2;
  int to_server[2];
  int to_client[2];
  if (pipe(to_server) != 0 || pipe(to_client) != 0) {
    perror("pipe");
    return 1;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 1;
  }
  if (child == 0) {
    close(to_server[1]);
    close(to_client[0]);
    _exit(flatwall::bench::RunServer(flags, to_server[0], to_client[1]));
  }
  close(to_server[0]);
  close(to_client[1]);
  int result = flatwall::bench::RunClient(flags, to_server[1], to_client[0]);
  close(to_server[1]);  // the server exits
  close(to_client[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return result != 0 ? result : (WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
