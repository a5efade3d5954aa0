// The agent's verdict-log throughput at one core (issue 6): synthetic datapath events
// pushed through the daemon's own VerdictLogPipeline — attribution against a snapshot of
// a 1k-pod / 100-policy cluster compiled for node-0, SUPPRESSED records, aggregation,
// the hash chain, JSON and the rotating file writer (into a temporary directory) — in
// batches of kBatch events, as the daemon hands over what one ring-buffer read returned.
//
// Four cases: aggregation off (every event a record) or on (the daemon's default 5 s
// interval, flushed once per second of event time like the daemon's tick), with every
// event a distinct flow (new source port each time: nothing aggregates; the aggregator
// fills to its flow limit) or with 64 flows repeated (nearly everything aggregates).
// Event mix: ~70 % default deny, revoked, malformed, fragment, spoofed, ~17 % allowed new
// flows with their rule; 25 % IPv6; TCP/UDP/ICMP; both directions; 1 in 5 remote ends
// outside the cluster; 1 in 64 events carries a suppressed count.
//
// The process pins itself to one CPU (the last one, or $FLATWALL_BENCH_CPU) before the
// benchmarks start. Counters: items_per_second (events per second of CPU time),
// ns_per_event (CPU), records_per_event (lines written), bytes_per_record (log bytes per
// line, over the files rotation kept). Not part of ctest; run with bench/run_log_bench.sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/event.h"
#include "abi/verdict.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/daemon/verdict_log.h"
#include "agent/daemon/verdict_log_pipeline.h"
#include "bench/synthetic_cluster.h"
#include "benchmark/benchmark.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/map_image.h"

namespace flatwall::bench {
namespace {

using compiler::IpAddress;

// Events per pipeline call: a ring-buffer read of a busy node returns batches of this
// order (a full 1 MiB ring holds ~11k events).
constexpr int kBatch = 256;
// Distinct base events cycled through; the distinct-flow case moves their source port on
// each cycle, so no flow repeats within 4096 × 60000 events.
constexpr int kBaseEvents = 4096;
constexpr int kRepeatedFlows = 64;
// Event time advances by this much per event (100k events/s of a flood); the pipeline's
// aggregation intervals and flushes run on event time, not on the benchmark's clock.
constexpr uint64_t kEventSpacingNs = 10'000;
constexpr uint64_t kFlushEveryNs = 1'000'000'000;  // the daemon's idle tick

struct Case {
  bool aggregate;
  bool repeated_flows;
};

// A pod's second address, so the cluster is dual-stack: fd00:10::<its IPv4 address>.
IpAddress Ipv6Twin(const IpAddress& v4) {
  std::array<uint8_t, 16> bytes = v4.bytes();
  bytes[0] = 0xfd;
  bytes[1] = 0x00;
  bytes[2] = 0x00;
  bytes[3] = 0x10;
  for (int i = 4; i < 12; ++i) bytes[i] = 0;
  return IpAddress(bytes);
}

IpAddress External(uint32_t serial, bool v6) {
  std::array<uint8_t, 16> bytes{};
  if (v6) {
    bytes = {0x20, 0x01, 0x0d, 0xb8};
  } else {
    bytes[10] = bytes[11] = 0xff;
    bytes[12] = 203;
    bytes[13] = 0;
  }
  bytes[14] = static_cast<uint8_t>(serial >> 8);
  bytes[15] = static_cast<uint8_t>(serial);
  return IpAddress(bytes);
}

// The snapshot's source: the synthetic cluster (1k pods, 100 policies, dual-stack)
// compiled for node-0, and the event pool drawn from it.
struct Workload {
  compiler::MapImage image;
  std::vector<fw_event> base;
};

const Workload& GetWorkload() {
  static const Workload* workload = [] {
    auto* built = new Workload;
    compiler::ClusterState cluster;
    for (compiler::ClusterObject& object : MakeSyntheticCluster(ClusterShape{})) {
      if (auto* pod = std::get_if<compiler::Pod>(&object); pod && !pod->ips.empty()) {
        pod->ips.push_back(Ipv6Twin(pod->ips.front()));
      }
      cluster.Apply(compiler::ClusterEvent{compiler::ClusterEvent::kUpsert, std::move(object)});
    }
    built->image = compiler::Compile(cluster, {.node_name = "node-0"});
    const compiler::MapImage& image = built->image;
    if (image.endpoint_info.empty() || image.pod_addresses.empty() ||
        image.rule_table.empty()) {
      std::fprintf(stderr, "synthetic image has no endpoints, pods or rules\n");
      std::abort();
    }
    const agent::VerdictSnapshot snapshot(image, "node-0");
    // Both ends by address family ([0] IPv4, [1] IPv6).
    std::vector<const compiler::EndpointInfo*> locals[2];
    std::vector<const compiler::PodAddressInfo*> pods[2];
    for (const compiler::EndpointInfo& local : image.endpoint_info) {
      locals[local.address.is_v4() ? 0 : 1].push_back(&local);
    }
    for (const compiler::PodAddressInfo& pod : image.pod_addresses) {
      pods[pod.address.is_v4() ? 0 : 1].push_back(&pod);
    }
    if (locals[0].empty() || locals[1].empty() || pods[0].empty() || pods[1].empty()) {
      std::fprintf(stderr, "synthetic image is not dual-stack\n");
      std::abort();
    }
    // Deterministic: event i's choices come from a fixed linear congruential sequence.
    uint32_t state = 12345;
    auto next = [&state](size_t bound) {
      state = state * 1664525u + 1013904223u;
      return static_cast<uint32_t>((state >> 8) % bound);
    };
    for (int i = 0; i < kBaseEvents; ++i) {
      const int family = next(4) == 0 ? 1 : 0;
      const bool v6 = family == 1;
      const bool ingress = next(2) == 0;
      const compiler::EndpointInfo* local = locals[family][next(locals[family].size())];
      const IpAddress remote = next(5) == 0 ? External(next(4096), v6)
                                            : pods[family][next(pods[family].size())]->address;
      fw_event event{};
      event.timestamp_ns = 0;  // set per use
      event.saddr = compiler::ToAbi(ingress ? remote : local->address);
      event.daddr = compiler::ToAbi(ingress ? local->address : remote);
      event.direction = ingress ? FW_DIR_INGRESS : FW_DIR_EGRESS;
      event.hook = ingress ? FW_HOOK_TO_POD : FW_HOOK_FROM_POD;
      event.local_identity = snapshot.IdentityOf(local->address);
      event.remote_identity = snapshot.IdentityOf(remote);
      const uint32_t protocol_pick = next(20);
      if (protocol_pick < 16) {
        event.protocol = IPPROTO_TCP;
        event.tcp_flags = 0x02;  // SYN
        event.sport = htons(static_cast<uint16_t>(32768 + next(28000)));
        event.dport = htons(static_cast<uint16_t>(next(2) ? 8080 : 443));
      } else if (protocol_pick < 19) {
        event.protocol = IPPROTO_UDP;
        event.sport = htons(static_cast<uint16_t>(32768 + next(28000)));
        event.dport = htons(53);
      } else {
        event.protocol = static_cast<uint8_t>(v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
        event.icmp_type = v6 ? 128 : 8;  // echo request
        event.sport = event.dport = htons(static_cast<uint16_t>(next(65536)));
      }
      const uint32_t reason_pick = next(100);
      event.verdict = FW_VERDICT_DENY;
      if (reason_pick < 70) {
        event.reason = FW_REASON_DEFAULT_DENY;
      } else if (reason_pick < 74) {
        event.reason = FW_REASON_REVOKED;
      } else if (reason_pick < 77) {
        event.reason = FW_REASON_MALFORMED_L4;
      } else if (reason_pick < 80) {
        event.reason = FW_REASON_FRAGMENT;
        event.sport = event.dport = 0;
      } else if (reason_pick < 83) {
        event.reason = FW_REASON_SPOOFED;
      } else {
        event.verdict = FW_VERDICT_ALLOW;
        event.reason = FW_REASON_RULE;
        const compiler::RuleInfo* rule = nullptr;
        for (int tries = 0; tries < 64 && (rule == nullptr || rule->direction !=
                                                                   event.direction);
             ++tries) {
          rule = &image.rule_table[next(image.rule_table.size())];
        }
        event.rule_id = rule->rule_id;
      }
      event.ifindex = 100 + next(100);
      event.packet_len = event.protocol == IPPROTO_TCP ? 74 : 60 + next(1400);
      event.suppressed = next(64) == 0 ? 1 + next(500) : 0;
      built->base.push_back(event);
    }
    return built;
  }();
  return *workload;
}

// This thread's CPU time (the pipeline runs on the calling thread, like the daemon's loop).
double ThreadCpuNs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

void BM_VerdictLog(benchmark::State& state, Case mode) {
  const Workload& workload = GetWorkload();
  std::error_code error;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      absl::StrCat("flatwall-log-bench-", getpid(), "-", mode.aggregate, mode.repeated_flows);
  std::filesystem::remove_all(dir, error);
  std::filesystem::create_directories(dir);
  // Rotation happens during the run: a file every 64 MiB, two kept.
  absl::StatusOr<std::unique_ptr<agent::VerdictLogPipeline>> pipeline =
      agent::VerdictLogPipeline::Open(
          {.log = {.path = (dir / "verdicts.jsonl").string(),
                   .max_bytes = 64ull << 20,
                   .max_files = 2},
           .node_name = "node-0",
           .aggregate_interval = mode.aggregate ? absl::Seconds(5) : absl::ZeroDuration()});
  if (!pipeline.ok()) {
    state.SkipWithError(pipeline.status().ToString().c_str());
    std::filesystem::remove_all(dir, error);
    return;
  }
  (*pipeline)->SetImage(workload.image, 0);
  const agent::ClockOffset offset{absl::Seconds(1'700'000'000)};
  const uint64_t first_seq = (*pipeline)->last_link().seq;
  const uint64_t start_ns = 1'000'000'000;
  uint64_t serial = 0;
  uint64_t next_flush_ns = start_ns + kFlushEveryNs;
  std::vector<fw_event> batch(kBatch);
  const double cpu_start_ns = ThreadCpuNs();

  for (auto _ : state) {
    for (fw_event& event : batch) {
      const uint64_t cycle = serial / kBaseEvents;
      event = workload.base[mode.repeated_flows ? serial % kRepeatedFlows
                                                : serial % kBaseEvents];
      event.timestamp_ns = start_ns + serial * kEventSpacingNs;
      if (!mode.repeated_flows && event.sport != 0) {
        event.sport = htons(static_cast<uint16_t>(1024 + cycle % 60000));
      }
      if (mode.repeated_flows) event.suppressed = 0;  // a steady flow, under its limit
      ++serial;
    }
    if (absl::Status written = (*pipeline)->Write(batch, offset); !written.ok()) {
      state.SkipWithError(written.ToString().c_str());
      break;
    }
    const uint64_t now_ns = batch.back().timestamp_ns;
    if (now_ns >= next_flush_ns) {
      next_flush_ns = now_ns + kFlushEveryNs;
      if (absl::Status flushed = (*pipeline)->Flush(now_ns, offset); !flushed.ok()) {
        state.SkipWithError(flushed.ToString().c_str());
        break;
      }
    }
  }

  const double cpu_ns = ThreadCpuNs() - cpu_start_ns;
  const double events = static_cast<double>(serial);
  const uint64_t records = (*pipeline)->last_link().seq - first_seq;
  pipeline->reset();  // writes the open aggregates, outside the timing
  uint64_t bytes = 0;
  uint64_t lines = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    std::ifstream in(entry.path(), std::ios::binary);
    for (std::string line; std::getline(in, line); ++lines) bytes += line.size() + 1;
  }
  std::filesystem::remove_all(dir, error);
  state.SetItemsProcessed(static_cast<int64_t>(serial));
  state.counters["ns_per_event"] = events > 0 ? cpu_ns / events : 0;  // CPU time
  state.counters["records_per_event"] = events > 0 ? static_cast<double>(records) / events : 0;
  state.counters["bytes_per_record"] =
      lines > 0 ? static_cast<double>(bytes) / static_cast<double>(lines) : 0;
}

BENCHMARK_CAPTURE(BM_VerdictLog, aggregation_off/distinct_flows, Case{false, false})
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_VerdictLog, aggregation_off/repeated_flows, Case{false, true})
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_VerdictLog, aggregation_on/distinct_flows, Case{true, false})
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_VerdictLog, aggregation_on/repeated_flows, Case{true, true})
    ->MinTime(2.0);

// Pins the process (before any thread exists) to one CPU: "at one core".
int PinToOneCpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return -1;
  int cpu = -1;
  if (const char* chosen = std::getenv("FLATWALL_BENCH_CPU"); chosen != nullptr) {
    cpu = std::atoi(chosen);
  } else {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &allowed)) cpu = i;
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(0, sizeof(one), &one) == 0 ? cpu : -1;
}

}  // namespace
}  // namespace flatwall::bench

int main(int argc, char** argv) {
  const int cpu = flatwall::bench::PinToOneCpu();
  if (cpu < 0) {
    std::perror("sched_setaffinity");
    return 1;
  }
  std::fprintf(stderr, "pinned to CPU %d\n", cpu);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
