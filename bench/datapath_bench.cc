// Datapath benchmarks: nanoseconds per packet of the real, loaded tc programs under
// BPF_PROG_TEST_RUN, for the established, reply, denied-new and allowed-new paths and for
// a deny with a reader draining verdict events, each beside a pass-through program
// (datapath/bpf/bench/pass_through.bpf.c) timed the same way in the same iteration, at
// three table sizes (IP cache / rules: 10/100, 10k/10k, 100k/100k).
//
// Allowed new flows need a conntrack miss on every run. BM_AllowedNew gets one at
// repeat 1e6 through a driver program (datapath/bpf/bench/new_flow_driver.bpf.c) that
// gives each run a flow no run has used and tail-calls the real program; the floor is the
// same driver in front of the pass-through, so the driver's cost cancels. Every timed run
// is checked to have been an allowed new flow (fw_stats_v1 counts), not assumed to be.
// BM_ConntrackInsert times the conntrack part of that path alone (the same driver in front
// of datapath/bpf/bench/conntrack_insert.bpf.c: parse, miss, insert into the real table),
// so the rest of the path is the difference; BM_ConntrackMiss only its parse and miss. BM_AllowedNewPerCall is the older method:
// single calls with the entry deleted between them, kept for comparison (its figures carry
// a syscall's cold caches).
//
// Counters (medians over the repetitions): ns_per_pkt (the program), floor_ns (the
// pass-through), above_floor_ns (the difference). Needs root and bpffs; the pin root is
// $FLATWALL_BENCH_PIN_ROOT or /sys/fs/bpf/flatwall-bench-<pid>, uninstalled at exit.
// Run with bench/run_datapath_bench.sh; not part of ctest.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/policy_maps.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "agent/datapath.h"
#include "agent/datapath_stats.h"
#include "agent/event_reader.h"
#include "agent/map_writer.h"
#include "agent/packet_builder.h"
#include "agent/packet_runner.h"
#include "agent/veth_binding.h"
#include "benchmark/benchmark.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/map_image.h"

namespace flatwall::bench {
namespace {

using agent::DatapathMap;
using agent::PacketBuilder;

// The issue asks for at least 1e6 runs per timed call.
constexpr uint32_t kRepeat = 1000000;
// Allowed new flows are timed one call at a time (the conntrack entry is removed between
// calls, outside the timing); this many calls make one measurement.
constexpr int kPerCallRuns = 10000;

constexpr uint32_t kRuleset = 1;
constexpr uint32_t kLocalIdentity = 300;
constexpr uint32_t kAllowedIdentity = 400;
constexpr uint32_t kDeniedIdentity = 401;
constexpr uint32_t kSyntheticIdentityBase = 1000;
constexpr uint16_t kServerPort = 80;
constexpr uint16_t kClientPort = 40000;
const char kLocalIp[] = "10.0.0.1";
const char kAllowedIp[] = "10.1.0.1";
const char kDeniedIp[] = "10.1.0.2";
// The driver's allowed peers, all with the allowed identity: it cycles through an
// aligned block of kNewFlowSources addresses (FW_BENCH_SOURCES in new_flow_driver.bpf.c)
// starting at the frame's source, 10.2.<block>.0. Successive calls use successive blocks,
// so a call never meets a flow an earlier call left in conntrack.
constexpr int kNewFlowSources = 16;
constexpr int kNewFlowBlocks = 8;

struct TableSize {
  int ipcache;
  int rules;
};
constexpr TableSize kSizes[] = {{10, 100}, {10000, 10000}, {100000, 100000}};

fw_addr Addr(const std::string& text) {
  absl::StatusOr<compiler::IpAddress> parsed = compiler::IpAddress::Parse(text);
  if (!parsed.ok()) {
    std::fprintf(stderr, "bad address %s\n", text.c_str());
    std::abort();
  }
  fw_addr addr{};
  std::copy(parsed->bytes().begin(), parsed->bytes().end(), addr.bytes);
  return addr;
}

compiler::IpAddress Ip(const std::string& text) { return *compiler::IpAddress::Parse(text); }

compiler::RuleEntry AllowTcp(uint32_t ruleset, uint32_t remote, uint16_t port) {
  compiler::RuleEntry entry{};
  entry.key.prefixlen = FW_RULE_KEY_BITS;
  entry.key.ruleset = ruleset;
  entry.key.direction = FW_DIR_INGRESS;
  entry.key.remote_kind = FW_REMOTE_IDENTITY;
  entry.key.remote = remote;
  entry.key.protocol = IPPROTO_TCP;
  entry.key.port = htons(port);
  entry.value.rule_id = remote;
  entry.value.action = FW_ACTION_ALLOW;
  return entry;
}

// Everything the benchmarks share: the loaded datapath, the pass-through program, the
// new-flow driver and the synthetic tables written so far (sizes only grow, so growing
// is a pure upsert).
class Harness {
 public:
  static absl::StatusOr<std::unique_ptr<Harness>> Create(const std::string& pin_root) {
    absl::StatusOr<std::unique_ptr<agent::Datapath>> datapath =
        agent::Datapath::Load({.pin_root = pin_root});
    if (!datapath.ok()) return datapath.status();
    absl::StatusOr<bpf_object*> pass_through = LoadBenchObject("pass_through.bpf.o");
    if (!pass_through.ok()) return pass_through.status();
    absl::StatusOr<bpf_object*> driver = LoadBenchObject("new_flow_driver.bpf.o");
    if (!driver.ok()) {
      bpf_object__close(*pass_through);
      return driver.status();
    }
    // Shares the datapath's pinned maps, so it inserts into the real conntrack table.
    absl::StatusOr<bpf_object*> conntrack_insert =
        LoadBenchObject("conntrack_insert.bpf.o", pin_root);
    if (!conntrack_insert.ok()) {
      bpf_object__close(*driver);
      bpf_object__close(*pass_through);
      return conntrack_insert.status();
    }
    auto harness = std::unique_ptr<Harness>(new Harness(
        std::move(*datapath), *pass_through, *driver, *conntrack_insert));
    absl::Status seeded = harness->SeedFixedTables();
    if (!seeded.ok()) return seeded;
    return harness;
  }

  ~Harness() {
    bpf_object__close(conntrack_insert_);
    bpf_object__close(new_flow_driver_);
    bpf_object__close(pass_through_);
    absl::Status removed = datapath_->Uninstall();
    if (!removed.ok()) std::fprintf(stderr, "uninstall: %s\n", removed.ToString().c_str());
  }

  const agent::Datapath& datapath() const { return *datapath_; }
  const agent::PacketRunner& runner() const { return runner_; }

  // Grows the IP cache and the rules to `size` with synthetic entries that the measured
  // packets never match: other pods, and rules of other rulesets and other remotes (the
  // measured ruleset gets up to 1000 of them, as a pod selected by many policies would).
  absl::Status GrowTo(const TableSize& size) {
    std::vector<compiler::IpcacheEntry> ipcache;
    for (int i = ipcache_size_; i < size.ipcache; ++i) {
      compiler::IpcacheEntry entry{};
      entry.key.addr = Addr(absl::StrCat("10.", 64 + i / 65536, ".", (i / 256) % 256, ".",
                                         i % 256));
      entry.value.identity = kSyntheticIdentityBase + static_cast<uint32_t>(i % 1000);
      ipcache.push_back(entry);
    }
    std::vector<compiler::RuleEntry> rules;
    for (int i = rules_size_; i < size.rules; ++i) {
      rules.push_back(AllowTcp(kRuleset + static_cast<uint32_t>(i / 1000),
                               kSyntheticIdentityBase + 1000 + static_cast<uint32_t>(i % 1000),
                               kServerPort));
    }
    if (absl::Status s = writer_.Upsert(ipcache); !s.ok()) return s;
    if (absl::Status s = writer_.Upsert(rules); !s.ok()) return s;
    ipcache_size_ = std::max(ipcache_size_, size.ipcache);
    rules_size_ = std::max(rules_size_, size.rules);
    return absl::OkStatus();
  }

  // Kernel-measured mean ns per run of `frame` through the pass-through program.
  absl::StatusOr<uint32_t> RunFloor(const std::vector<uint8_t>& frame, uint32_t repeat) const {
    bpf_program* program = bpf_object__next_program(pass_through_, nullptr);
    absl::StatusOr<agent::TestRun> run = agent::TestRunProgram(
        bpf_program__fd(program), frame, __sk_buff{}, repeat, "test-run pass-through");
    if (!run.ok()) return run.status();
    return run->duration_ns;
  }

  // Kernel-measured mean ns per run of `frame` through the new-flow driver, which
  // tail-calls `target_fd` with a flow of its own on every run.
  absl::StatusOr<uint32_t> RunDriver(int target_fd, const std::vector<uint8_t>& frame,
                                     uint32_t repeat) const {
    bpf_map* slots = bpf_object__next_map(new_flow_driver_, nullptr);
    const uint32_t slot = 0;
    if (bpf_map_update_elem(bpf_map__fd(slots), &slot, &target_fd, BPF_ANY) != 0) {
      return absl::InternalError(absl::StrCat("set the driver's target: errno ", errno));
    }
    bpf_program* driver = bpf_object__next_program(new_flow_driver_, nullptr);
    absl::StatusOr<agent::TestRun> run = agent::TestRunProgram(
        bpf_program__fd(driver), frame, __sk_buff{}, repeat, "test-run new-flow driver");
    if (!run.ok()) return run.status();
    return run->duration_ns;
  }

  int pass_through_fd() const {
    return bpf_program__fd(bpf_object__next_program(pass_through_, nullptr));
  }
  int conntrack_insert_fd() const {
    return bpf_program__fd(
        bpf_object__find_program_by_name(conntrack_insert_, "fw_bench_conntrack_insert"));
  }
  int conntrack_miss_fd() const {
    return bpf_program__fd(
        bpf_object__find_program_by_name(conntrack_insert_, "fw_bench_conntrack_miss"));
  }

  // Deletes every conntrack entry (a full table after BM_AllowedNew) and every
  // event-rate bucket.
  void ClearFlows() const {
    DeleteAll<fw_ct_key>(datapath_->map_fd(DatapathMap::kConntrack));
    DeleteAll<fw_addr>(datapath_->map_fd(DatapathMap::kEventRate));
  }

 private:
  Harness(std::unique_ptr<agent::Datapath> datapath, bpf_object* pass_through,
          bpf_object* new_flow_driver, bpf_object* conntrack_insert)
      : datapath_(std::move(datapath)),
        writer_(*datapath_),
        runner_(*datapath_),
        pass_through_(pass_through),
        new_flow_driver_(new_flow_driver),
        conntrack_insert_(conntrack_insert) {}

  // Collects the keys first: restarting the walk from the first key after each delete
  // would make clearing a full conntrack table quadratic.
  template <typename Key>
  static void DeleteAll(int map_fd) {
    std::vector<Key> keys;
    Key key{};
    const Key* previous = nullptr;
    while (bpf_map_get_next_key(map_fd, previous, &key) == 0) {
      keys.push_back(key);
      previous = &keys.back();
    }
    for (const Key& k : keys) bpf_map_delete_elem(map_fd, &k);
  }

  // With `pin_root`, the object's maps are the datapath's pinned ones (LIBBPF_PIN_BY_NAME).
  static absl::StatusOr<bpf_object*> LoadBenchObject(const std::string& name,
                                                     const std::string& pin_root = "") {
    std::string path = absl::StrCat(FLATWALL_BPF_BENCH_OBJECT_DIR, "/", name);
    bpf_object_open_opts options{};
    options.sz = sizeof(options);
    options.pin_root_path = pin_root.empty() ? nullptr : pin_root.c_str();
    bpf_object* object = bpf_object__open_file(path.c_str(), &options);
    if (object == nullptr || bpf_object__load(object) != 0) {
      int error = errno;
      bpf_object__close(object);  // accepts nullptr
      return absl::InternalError(absl::StrCat("load ", path, ": errno ", error));
    }
    return object;
  }

  // The measured pod (isolated both ways, so a reply passes only through conntrack), one
  // allowed and one denied peer, and the one rule that allows the first.
  absl::Status SeedFixedTables() {
    compiler::EndpointEntry endpoint{};
    endpoint.key.addr = Addr(kLocalIp);
    endpoint.value.identity = kLocalIdentity;
    endpoint.value.ruleset = kRuleset;
    endpoint.value.flags = FW_EP_ISOLATED_INGRESS | FW_EP_ISOLATED_EGRESS;
    endpoint.value.rule_kinds[FW_DIR_INGRESS] = FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_EXACT_PORT;
    compiler::IpcacheEntry allowed{};
    allowed.key.addr = Addr(kAllowedIp);
    allowed.value.identity = kAllowedIdentity;
    compiler::IpcacheEntry denied{};
    denied.key.addr = Addr(kDeniedIp);
    denied.value.identity = kDeniedIdentity;
    compiler::IpcacheEntry local{};
    local.key.addr = Addr(kLocalIp);
    local.value.identity = kLocalIdentity;
    compiler::MapDiff diff;
    diff.endpoints.upserts = {endpoint};
    diff.ipcache.upserts = {allowed, denied, local};
    for (int block = 0; block < kNewFlowBlocks; ++block) {
      for (int i = 0; i < kNewFlowSources; ++i) {
        compiler::IpcacheEntry source{};
        source.key.addr = Addr(absl::StrCat("10.2.", block, ".", i));
        source.value.identity = kAllowedIdentity;
        diff.ipcache.upserts.push_back(source);
      }
    }
    diff.rules.upserts = {AllowTcp(kRuleset, kAllowedIdentity, kServerPort)};
    if (absl::Status s = writer_.Apply(diff); !s.ok()) return s;
    // Test runs arrive on loopback: bind it to the pod, so the reply passes source checks.
    return agent::BindVeth(*datapath_, agent::kTestRunIfindex, {Ip(kLocalIp)});
  }

  std::unique_ptr<agent::Datapath> datapath_;
  agent::MapWriter writer_;
  agent::PacketRunner runner_;
  bpf_object* pass_through_;
  bpf_object* new_flow_driver_;
  bpf_object* conntrack_insert_;
  int ipcache_size_ = 0;
  int rules_size_ = 0;
};

Harness* harness = nullptr;

std::vector<uint8_t> Syn(const char* from, uint16_t from_port, const char* to, uint16_t to_port) {
  return PacketBuilder(Ip(from), Ip(to)).Tcp(from_port, to_port, PacketBuilder::kSyn).Build();
}
std::vector<uint8_t> Ack(const char* from, uint16_t from_port, const char* to, uint16_t to_port) {
  return PacketBuilder(Ip(from), Ip(to))
      .Tcp(from_port, to_port, PacketBuilder::kAck)
      .Payload(64)
      .Build();
}

// One measured case: the frame through `hook` must end with `reason` (checked on a single
// run first, so a benchmark never times the wrong path).
struct Case {
  fw_hook hook;
  std::vector<uint8_t> frame;
  fw_reason reason;
};

bool Prepare(benchmark::State& state, const TableSize& size) {
  if (absl::Status grown = harness->GrowTo(size); !grown.ok()) {
    state.SkipWithError(grown.ToString().c_str());
    return false;
  }
  harness->ClearFlows();
  return true;
}

bool Check(benchmark::State& state, const Case& c) {
  absl::StatusOr<agent::RunResult> result = harness->runner().Run(c.hook, c.frame);
  if (!result.ok()) {
    state.SkipWithError(result.status().ToString().c_str());
    return false;
  }
  if (result->reason != c.reason) {
    state.SkipWithError(absl::StrCat("expected reason ", c.reason, ", got ", result->reason)
                            .c_str());
    return false;
  }
  return true;
}

void Report(benchmark::State& state, double program_ns, double floor_ns) {
  state.SetIterationTime(program_ns * 1e-9);
  state.counters["ns_per_pkt"] = program_ns;
  state.counters["floor_ns"] = floor_ns;
  state.counters["above_floor_ns"] = program_ns - floor_ns;
}

// Times `c` with kRepeat runs per call, beside the pass-through with the same frame.
void TimeRepeated(benchmark::State& state, const Case& c) {
  for (auto _ : state) {
    absl::StatusOr<uint32_t> floor = harness->RunFloor(c.frame, kRepeat);
    absl::StatusOr<agent::RunResult> result =
        harness->runner().Run(c.hook, c.frame, {.repeat = kRepeat});
    if (!floor.ok() || !result.ok()) {
      state.SkipWithError(!floor.ok() ? floor.status().ToString().c_str()
                                      : result.status().ToString().c_str());
      return;
    }
    Report(state, result->duration_ns, *floor);
  }
}

const Case kEstablished{FW_HOOK_TO_POD, Ack(kAllowedIp, kClientPort, kLocalIp, kServerPort),
                        FW_REASON_ESTABLISHED};
const Case kReply{FW_HOOK_FROM_POD, Ack(kLocalIp, kServerPort, kAllowedIp, kClientPort),
                  FW_REASON_ESTABLISHED};
const Case kDeniedNew{FW_HOOK_TO_POD, Syn(kDeniedIp, kClientPort, kLocalIp, kServerPort),
                      FW_REASON_DEFAULT_DENY};
const Case kAllowedNew{FW_HOOK_TO_POD, Syn(kAllowedIp, kClientPort, kLocalIp, kServerPort),
                       FW_REASON_RULE};
// The driver's first frame of call `call`.
std::vector<uint8_t> DrivenSyn(int call) {
  std::string source = absl::StrCat("10.2.", call % kNewFlowBlocks, ".0");
  return Syn(source.c_str(), kClientPort, kLocalIp, kServerPort);
}

// A packet of a tracked flow, in the direction that opened it.
void BM_Established(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size) || !Check(state, kAllowedNew) ||
      !Check(state, kEstablished)) {
    return;
  }
  TimeRepeated(state, kEstablished);
}

// A packet of a tracked flow, in the other direction (the pod's egress is isolated and
// has no rules, so only conntrack lets it through).
void BM_Reply(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size) || !Check(state, kAllowedNew) || !Check(state, kReply)) {
    return;
  }
  TimeRepeated(state, kReply);
}

// A SYN no rule allows, events off (no reader): the default.
void BM_DeniedNew(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size) || !Check(state, kDeniedNew)) return;
  TimeRepeated(state, kDeniedNew);
}

// The same SYN while an EventReader drains fw_events_v1 on another thread. !unlimited:
// the default per-endpoint event rate limit (burst 200, one per 10 ms), so nearly every
// run is a suppressed event; unlimited: no limit (event_interval_ns 0), every run reserves and
// submits a ring-buffer record.
void BM_DeniedNewWithReader(benchmark::State& state, const TableSize& size, bool unlimited) {
  if (!Prepare(state, size) || !Check(state, kDeniedNew)) return;
  absl::StatusOr<fw_config> original = harness->datapath().ReadConfig();
  if (!original.ok()) {
    state.SkipWithError(original.status().ToString().c_str());
    return;
  }
  if (unlimited) {
    fw_config unlimited = *original;
    unlimited.event_interval_ns = 0;
    if (absl::Status s = harness->datapath().WriteConfig(unlimited); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  absl::StatusOr<std::unique_ptr<agent::EventReader>> reader =
      agent::EventReader::Start(harness->datapath());
  if (!reader.ok()) {
    state.SkipWithError(reader.status().ToString().c_str());
    return;
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> events{0};
  std::thread drain([&] {
    while (!stop.load()) {
      absl::StatusOr<std::vector<fw_event>> batch = (*reader)->Poll(50);
      if (batch.ok()) events += batch->size();
    }
  });
  TimeRepeated(state, kDeniedNew);
  stop = true;
  drain.join();
  reader->reset();  // clears FW_CFG_EVENTS
  absl::Status restored = harness->datapath().WriteConfig(*original);
  if (!restored.ok()) state.SkipWithError(restored.ToString().c_str());
  state.counters["events_per_iter"] =
      benchmark::Counter(static_cast<double>(events.load()), benchmark::Counter::kAvgIterations);
}

// Packets of the fw_stats_v1 slot `index`, summed over CPUs; 0 when unreadable (the
// caller's comparison then fails).
uint64_t StatPackets(uint32_t index) {
  absl::StatusOr<fw_counter_value> stat = agent::ReadStat(harness->datapath(), index);
  return stat.ok() ? stat->packets : 0;
}

// Times `target_fd` behind the new-flow driver, beside the driver in front of the
// pass-through, each run a flow never seen before. One untimed call of `fill_fd` first
// fills conntrack: with no garbage collector a node's table is full in steady state, so
// every timed insert also evicts the least recently used entry. A call counts only if
// fw_stats_v1 shows no refused insert and, when `rule_decisions`, exactly `kRepeat` more
// RULE decisions.
void TimeDrivenNewFlows(benchmark::State& state, int target_fd, bool rule_decisions,
                        int fill_fd = -1) {
  static int call = 0;  // across benchmarks, sizes and repetitions: each call a block of its own
  const uint32_t rule_stat = uint32_t{FW_STAT_REASON_FIRST} + FW_REASON_RULE;
  if (absl::StatusOr<uint32_t> fill =
          harness->RunDriver(fill_fd >= 0 ? fill_fd : target_fd, DrivenSyn(++call), kRepeat);
      !fill.ok()) {
    state.SkipWithError(fill.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    std::vector<uint8_t> frame = DrivenSyn(++call);
    absl::StatusOr<uint32_t> floor = harness->RunDriver(harness->pass_through_fd(), frame, kRepeat);
    uint64_t rules_before = StatPackets(rule_stat);
    uint64_t failed_before = StatPackets(FW_STAT_CONNTRACK_FAILED);
    absl::StatusOr<uint32_t> timed = harness->RunDriver(target_fd, frame, kRepeat);
    if (!floor.ok() || !timed.ok()) {
      state.SkipWithError(!floor.ok() ? floor.status().ToString().c_str()
                                      : timed.status().ToString().c_str());
      return;
    }
    uint64_t rules = StatPackets(rule_stat) - rules_before;
    uint64_t failed = StatPackets(FW_STAT_CONNTRACK_FAILED) - failed_before;
    if ((rule_decisions && rules != kRepeat) || failed != 0) {
      state.SkipWithError(absl::StrCat(rules, " of ", kRepeat, " driven runs were allowed new flows, ",
                                       failed, " conntrack inserts failed")
                              .c_str());
      return;
    }
    Report(state, *timed, *floor);
  }
}

// A SYN a rule allows, each run a flow never seen before (the driver's), so each run
// misses conntrack, runs the whole policy lookup and inserts an entry.
void BM_AllowedNew(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size) || !Check(state, {FW_HOOK_TO_POD, DrivenSyn(0), FW_REASON_RULE})) {
    return;
  }
  TimeDrivenNewFlows(state, harness->datapath().program_fd(FW_HOOK_TO_POD), true);
}

// The conntrack part of BM_AllowedNew alone (parse, miss, insert into the full table):
// the floor of the allowed-new path that no policy-side change can go below.
void BM_ConntrackInsert(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size)) return;
  TimeDrivenNewFlows(state, harness->conntrack_insert_fd(), false);
}

// The first step of BM_ConntrackInsert alone: parse and the lookup that misses in the full
// table — what it costs to learn that a packet starts a new flow.
void BM_ConntrackMiss(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size)) return;
  TimeDrivenNewFlows(state, harness->conntrack_miss_fd(), false, harness->conntrack_insert_fd());
}

// A SYN a rule allows, creating a conntrack entry: each run needs a conntrack miss, so
// runs are single calls with the entry deleted in between (outside the kernel's timing),
// and the pass-through is timed with single calls too. The per-call figure carries the
// kernel's timer overhead and cold caches after the syscall; the floor carries them too.
void BM_AllowedNewPerCall(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size) || !Check(state, kAllowedNew)) return;
  for (auto _ : state) {
    uint64_t program_total = 0;
    uint64_t floor_total = 0;
    for (int i = 0; i < kPerCallRuns; ++i) {
      harness->ClearFlows();
      absl::StatusOr<agent::RunResult> result = harness->runner().Run(kAllowedNew.hook,
                                                                       kAllowedNew.frame);
      absl::StatusOr<uint32_t> floor = harness->RunFloor(kAllowedNew.frame, 1);
      if (!result.ok() || !floor.ok() || result->reason != FW_REASON_RULE) {
        state.SkipWithError("allowed new flow run failed or took another path");
        return;
      }
      program_total += result->duration_ns;
      floor_total += *floor;
    }
    Report(state, static_cast<double>(program_total) / kPerCallRuns,
           static_cast<double>(floor_total) / kPerCallRuns);
  }
}

// For comparison with the per-call allowed-new figure: the established path timed the
// same way (one call at a time), so the per-call method's own inflation shows.
void BM_EstablishedPerCall(benchmark::State& state, const TableSize& size) {
  if (!Prepare(state, size) || !Check(state, kAllowedNew) ||
      !Check(state, kEstablished)) {
    return;
  }
  for (auto _ : state) {
    uint64_t program_total = 0;
    uint64_t floor_total = 0;
    for (int i = 0; i < kPerCallRuns; ++i) {
      absl::StatusOr<agent::RunResult> result = harness->runner().Run(kEstablished.hook,
                                                                       kEstablished.frame);
      absl::StatusOr<uint32_t> floor = harness->RunFloor(kEstablished.frame, 1);
      if (!result.ok() || !floor.ok()) {
        state.SkipWithError("established run failed");
        return;
      }
      program_total += result->duration_ns;
      floor_total += *floor;
    }
    Report(state, static_cast<double>(program_total) / kPerCallRuns,
           static_cast<double>(floor_total) / kPerCallRuns);
  }
}

// Registered size-major, smallest first: the harness only grows the tables (a pure
// upsert), at the first benchmark of each size.
void RegisterAll() {
  for (const TableSize& size : kSizes) {
    std::string suffix = absl::StrCat("/ipcache:", size.ipcache, "/rules:", size.rules);
    auto add = [&](const std::string& name, auto function, auto... extra) {
      benchmark::RegisterBenchmark((name + suffix).c_str(), function, size, extra...)
          ->Iterations(1)
          ->Repetitions(5)
          ->ReportAggregatesOnly(true)
          ->UseManualTime()
          ->Unit(benchmark::kNanosecond);
    };
    add("BM_Established", BM_Established);
    add("BM_Reply", BM_Reply);
    add("BM_DeniedNew", BM_DeniedNew);
    add("BM_DeniedNewWithReader/rate_limited", BM_DeniedNewWithReader, false);
    add("BM_DeniedNewWithReader/unlimited", BM_DeniedNewWithReader, true);
    add("BM_AllowedNew", BM_AllowedNew);
    add("BM_ConntrackInsert", BM_ConntrackInsert);
    add("BM_ConntrackMiss", BM_ConntrackMiss);
    add("BM_AllowedNewPerCall", BM_AllowedNewPerCall);
    add("BM_EstablishedPerCall", BM_EstablishedPerCall);
  }
}

}  // namespace
}  // namespace flatwall::bench

int main(int argc, char** argv) {
  using flatwall::bench::harness;
  benchmark::Initialize(&argc, argv);
  if (geteuid() != 0) {
    std::fprintf(stderr, "datapath_bench needs root (BPF_PROG_TEST_RUN, bpffs pins)\n");
    return 1;
  }
  const char* root = std::getenv("FLATWALL_BENCH_PIN_ROOT");
  std::string pin_root =
      root != nullptr ? root : absl::StrCat("/sys/fs/bpf/flatwall-bench-", getpid());
  absl::StatusOr<std::unique_ptr<flatwall::bench::Harness>> created =
      flatwall::bench::Harness::Create(pin_root);
  if (!created.ok()) {
    std::fprintf(stderr, "datapath_bench: %s\n", created.status().ToString().c_str());
    return 1;
  }
  harness = created->get();
  flatwall::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  harness = nullptr;
  created->reset();  // uninstalls the pins
  return 0;
}
