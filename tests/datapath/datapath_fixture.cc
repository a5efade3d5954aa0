#include "tests/datapath/datapath_fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "agent/datapath_stats.h"
#include "agent/veth_binding.h"
#include "tests/testing/rule_shapes.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

constexpr long kBpffsMagic = 0xcafe4a11;

// The IPv4 or IPv6 source address of an Ethernet frame (behind one VLAN tag at most);
// none for other frames and ones too short to hold it.
std::optional<compiler::IpAddress> FrameSource(const std::vector<uint8_t>& frame) {
  size_t l3 = 14;
  auto ethertype = [&](size_t at) { return frame.size() < at + 2 ? 0 : frame[at] << 8 | frame[at + 1]; };
  int type = ethertype(12);
  if (type == 0x8100 || type == 0x88a8) {
    type = ethertype(16);
    l3 = 18;
  }
  std::array<uint8_t, 16> bytes{};
  if (type == 0x0800 && frame.size() >= l3 + 16) {
    bytes[10] = bytes[11] = 0xff;  // IPv4-mapped, as the ABI stores it
    std::memcpy(&bytes[12], &frame[l3 + 12], 4);
  } else if (type == 0x86dd && frame.size() >= l3 + 24) {
    std::memcpy(bytes.data(), &frame[l3 + 8], 16);
  } else {
    return std::nullopt;
  }
  return compiler::IpAddress(bytes);
}

template <typename Key>
void DeleteAll(int fd) {
  Key key{};
  while (bpf_map_get_next_key(fd, nullptr, &key) == 0) {
    if (bpf_map_delete_elem(fd, &key) != 0) break;
  }
}

}  // namespace

compiler::IpAddress Ip(const std::string& text) {
  absl::StatusOr<compiler::IpAddress> address = compiler::IpAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text << ": " << address.status();
  return address.ok() ? *address : compiler::IpAddress();
}

fw_addr AbiAddr(const std::string& text) {
  fw_addr addr{};
  std::memcpy(addr.bytes, Ip(text).bytes().data(), sizeof(addr.bytes));
  return addr;
}

std::string TestPinRoot() { return absl::StrCat("/sys/fs/bpf/flatwall-test-", getpid()); }

void RequireRootAndBpffs() {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN) to load BPF programs; CI runs as root";
  }
  struct statfs fs {};
  if (statfs("/sys/fs/bpf", &fs) != 0 || static_cast<long>(fs.f_type) != kBpffsMagic) {
    mkdir("/sys/fs/bpf", 0755);
    ASSERT_EQ(mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr), 0)
        << "mount bpffs at /sys/fs/bpf: " << std::strerror(errno);
  }
}

compiler::EndpointEntry MakeEndpoint(const EndpointSpec& spec) {
  compiler::EndpointEntry entry{};
  entry.key.addr = AbiAddr(spec.ip);
  entry.value.identity = spec.identity;
  entry.value.ruleset = spec.ruleset;
  entry.value.flags = spec.flags;
  entry.value.rule_kinds[FW_DIR_INGRESS] = spec.ingress_kinds;
  entry.value.rule_kinds[FW_DIR_EGRESS] = spec.egress_kinds;
  return entry;
}

compiler::IpcacheEntry MakeIpcache(const std::string& ip, uint32_t identity,
                                   uint32_t cidr_class) {
  compiler::IpcacheEntry entry{};
  entry.key.addr = AbiAddr(ip);
  entry.value.identity = identity;
  entry.value.cidr_class = cidr_class;
  return entry;
}

compiler::CidrEntry MakeCidr(const std::string& prefix, uint32_t cidr_class) {
  absl::StatusOr<compiler::IpPrefix> parsed = compiler::IpPrefix::Parse(prefix);
  EXPECT_TRUE(parsed.ok()) << prefix << ": " << parsed.status();
  compiler::CidrEntry entry{};
  if (!parsed.ok()) return entry;
  entry.key.prefixlen = parsed->length128();
  std::memcpy(entry.key.addr.bytes, parsed->address().bytes().data(), 16);
  entry.value.cidr_class = cidr_class;
  return entry;
}

compiler::RuleEntry MakeRule(const RuleSpec& spec) {
  compiler::RuleEntry entry{};
  entry.key.ruleset = spec.ruleset;
  entry.key.direction = spec.direction;
  entry.key.remote_kind = spec.kind;
  entry.key.remote = spec.remote;
  entry.key.prefixlen = FW_RULE_BITS_ANY_PROTOCOL;
  if (spec.protocol.has_value()) {
    entry.key.protocol = *spec.protocol;
    entry.key.prefixlen = FW_RULE_BITS_ANY_PORT;
    if (spec.port.has_value()) {
      entry.key.port = htons(*spec.port);
      entry.key.prefixlen = FW_RULE_BITS_ANY_PORT + spec.port_bits;
    }
  }
  entry.value.rule_id = spec.rule_id;
  entry.value.action = FW_ACTION_ALLOW;
  return entry;
}

compiler::MapDiff UpsertAll(const Tables& tables) {
  compiler::MapDiff diff;
  diff.endpoints.upserts = tables.endpoints;
  ::flatwall::testing::AddRuleShapes(tables.rules, diff.endpoints.upserts);
  diff.ipcache.upserts = tables.ipcache;
  diff.cidrs.upserts = tables.cidrs;
  diff.rules.upserts = tables.rules;
  return diff;
}

std::unique_ptr<Datapath>* DatapathTest::suite_datapath_ = nullptr;

void DatapathTest::SetUpTestSuite() {
  if (geteuid() != 0) return;  // SetUp skips each test with the reason
  RequireRootAndBpffs();
  DatapathOptions options;
  options.pin_root = TestPinRoot();
  absl::StatusOr<std::unique_ptr<Datapath>> datapath = Datapath::Load(options);
  ASSERT_THAT(datapath, ::flatwall::testing::IsOk());
  suite_datapath_ = new std::unique_ptr<Datapath>(std::move(*datapath));
}

void DatapathTest::TearDownTestSuite() {
  if (suite_datapath_ == nullptr) return;
  FW_EXPECT_OK((*suite_datapath_)->Uninstall());
  delete suite_datapath_;
  suite_datapath_ = nullptr;
}

void DatapathTest::SetUp() {
  RequireRootAndBpffs();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NE(suite_datapath_, nullptr) << "the suite's datapath did not load";
  datapath_ = suite_datapath_->get();
  writer_ = std::make_unique<MapWriter>(*datapath_);
  runner_ = std::make_unique<PacketRunner>(*datapath_);
  ResetMaps();
}

void DatapathTest::TearDown() {
  runner_.reset();
  writer_.reset();
  datapath_ = nullptr;
}

void DatapathTest::ResetMaps() {
  DeleteAll<fw_endpoint_key>(datapath_->map_fd(DatapathMap::kEndpoints));
  DeleteAll<fw_ipcache_key>(datapath_->map_fd(DatapathMap::kIpcache));
  DeleteAll<fw_cidr_key>(datapath_->map_fd(DatapathMap::kCidrs));
  DeleteAll<fw_rule_key>(datapath_->map_fd(DatapathMap::kRules));
  DeleteAll<fw_service_key>(datapath_->map_fd(DatapathMap::kServices));
  FW_ASSERT_OK(UnbindVeth(*datapath_, kTestRunIfindex));
  DeleteAll<uint32_t>(datapath_->map_fd(DatapathMap::kVethBig));
  DeleteAll<fw_counter_key>(datapath_->map_fd(DatapathMap::kCounters));
  DeleteAll<fw_evrate_key>(datapath_->map_fd(DatapathMap::kEventRate));
  ClearFlows();
  const int cpus = libbpf_num_possible_cpus();
  ASSERT_GT(cpus, 0);
  const std::vector<fw_counter_value> zeros(cpus);
  for (uint32_t index = 0; index < FW_STATS_COUNT; ++index) {
    ASSERT_EQ(bpf_map_update_elem(datapath_->map_fd(DatapathMap::kStats), &index, zeros.data(),
                                  BPF_ANY),
              0);
  }
  // Events a previous test left unread.
  ring_buffer* ring = ring_buffer__new(
      datapath_->map_fd(DatapathMap::kEvents), [](void*, void*, size_t) { return 0; }, nullptr,
      nullptr);
  ASSERT_NE(ring, nullptr);
  ring_buffer__consume(ring);
  ring_buffer__free(ring);
  fw_config config{};
  config.generation = 1;
  config.service_mark = FW_DEFAULT_SERVICE_MARK;
  config.event_interval_ns = FW_DEFAULT_EVENT_INTERVAL_NS;
  config.event_burst = FW_DEFAULT_EVENT_BURST;
  SetConfig(config);
}

void DatapathTest::Seed(const Tables& tables) { FW_ASSERT_OK(writer_->Apply(UpsertAll(tables))); }

RunResult DatapathTest::Run(fw_hook hook, const std::vector<uint8_t>& frame,
                            const RunOptions& options) {
  if (hook == FW_HOOK_FROM_POD && bind_source_on_run_) {
    if (std::optional<compiler::IpAddress> source = FrameSource(frame); source.has_value()) {
      EXPECT_THAT(BindVeth(*datapath_, kTestRunIfindex, {*source}),
                  ::flatwall::testing::IsOk());
    }
  }
  absl::StatusOr<RunResult> result = runner_->Run(hook, frame, options);
  EXPECT_THAT(result, ::flatwall::testing::IsOk());
  return result.ok() ? *result : RunResult{};
}

void DatapathTest::ClearFlows() {
  DeleteAll<fw_ct_key>(datapath_->map_fd(DatapathMap::kConntrack));
  DeleteAll<fw_frag_key>(datapath_->map_fd(DatapathMap::kFragments));
}

void DatapathTest::AgeFlows(uint64_t age_ns) {
  // The programs stamp entries with bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  const uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
  for (auto [key, value] : Flows()) {
    value.last_seen_ns = now_ns - age_ns;
    ASSERT_EQ(bpf_map_update_elem(datapath_->map_fd(DatapathMap::kConntrack), &key, &value,
                                  BPF_EXIST),
              0);
  }
}

std::vector<std::pair<fw_ct_key, fw_ct_value>> DatapathTest::Flows() {
  std::vector<std::pair<fw_ct_key, fw_ct_value>> flows;
  absl::StatusOr<std::vector<ConntrackEntry>> entries = ReadConntrack(*datapath_);
  EXPECT_THAT(entries, ::flatwall::testing::IsOk());
  if (entries.ok()) {
    for (const ConntrackEntry& entry : *entries) flows.emplace_back(entry.key, entry.value);
  }
  return flows;
}

fw_config DatapathTest::Config() {
  absl::StatusOr<fw_config> config = datapath_->ReadConfig();
  EXPECT_THAT(config, ::flatwall::testing::IsOk());
  return config.ok() ? *config : fw_config{};
}

void DatapathTest::SetConfig(const fw_config& config) {
  FW_ASSERT_OK(datapath_->WriteConfig(config));
}

}  // namespace flatwall::agent::testing
