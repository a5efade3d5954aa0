// `flatwall explain --node` against a real node: a 2-node lab with a real agent per node,
// real denied traffic in its verdict log, and the command run in-process against the
// node's pins, log and manifests. Checks the node's verdict, the recent records and the
// counters, and that explaining changed nothing on the node: its conntrack, counters,
// stats, rate-limit tokens and event ring are read before and after. Needs root.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "abi/datapath_maps.h"
#include "abi/verdict.h"
#include "absl/strings/str_cat.h"
#include "agent/cli/commands.h"
#include "agent/datapath.h"
#include "agent/lab/lab_names.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lab/agent_lab_fixture.h"

namespace flatwall::lab {
namespace {

using agent::DatapathMap;
using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

// Every key of a pinned map with its raw value (every CPU's copy of a per-CPU map).
using MapDump = std::map<std::string, std::string>;

// The reasons of packets the pods' kernels send on their own at any time (ARP, IPv6
// neighbor and router discovery): always passed, counted, never logged.
bool IsBackgroundReason(int reason) {
  return reason == FW_REASON_NOT_IP || reason == FW_REASON_NEIGHBOR_DISCOVERY;
}

// Whether the entry `key` of map `map` counts background packets only.
bool IsBackgroundCount(DatapathMap map, const std::string& key) {
  if (map == DatapathMap::kStats) {
    uint32_t index = 0;
    std::memcpy(&index, key.data(), sizeof(index));
    const int reason = static_cast<int>(index) - FW_STAT_REASON_FIRST;
    return reason >= 0 && reason < FW_REASON_COUNT && IsBackgroundReason(reason);
  }
  if (map == DatapathMap::kCounters) {
    fw_counter_key counter{};
    std::memcpy(&counter, key.data(), sizeof(counter));
    return IsBackgroundReason(counter.reason);
  }
  return false;
}

MapDump DumpMap(DatapathMap map, const std::string& pin) {
  MapDump dump;
  const int fd = bpf_obj_get(pin.c_str());
  EXPECT_GE(fd, 0) << pin;
  if (fd < 0) return dump;
  bpf_map_info info{};
  uint32_t length = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &length), 0) << pin;
  const bool per_cpu = info.type == BPF_MAP_TYPE_PERCPU_HASH ||
                       info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                       info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const size_t value_size =
      per_cpu ? (info.value_size + 7) / 8 * 8 * libbpf_num_possible_cpus() : info.value_size;
  std::string key(info.key_size, '\0'), next(info.key_size, '\0'), value(value_size, '\0');
  for (const void* previous = nullptr; bpf_map_get_next_key(fd, previous, next.data()) == 0;
       previous = key.data()) {
    key = next;
    if (IsBackgroundCount(map, key)) continue;
    if (bpf_map_lookup_elem(fd, key.data(), value.data()) == 0) dump[key] = value;
  }
  close(fd);
  return dump;
}

// How far the programs have written into the event ring: its producer position, on the
// read-only page after the consumer's.
uint64_t RingProducerPosition(const std::string& pin) {
  const int fd = bpf_obj_get(pin.c_str());
  EXPECT_GE(fd, 0) << pin;
  if (fd < 0) return 0;
  const long page = sysconf(_SC_PAGESIZE);
  void* mapped = mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, page);
  close(fd);
  EXPECT_NE(mapped, MAP_FAILED) << pin;
  if (mapped == MAP_FAILED) return 0;
  const uint64_t position = *static_cast<const volatile uint64_t*>(mapped);
  munmap(mapped, page);
  return position;
}

// What a packet through the node's programs would change, but for the counts of
// background packets (IsBackgroundCount), which the pods send while the test runs.
struct NodeState {
  std::map<std::string, MapDump> maps;
  uint64_t ring_position = 0;

  friend bool operator==(const NodeState&, const NodeState&) = default;
};

NodeState ReadNodeState(const std::string& root) {
  NodeState state;
  for (const DatapathMap map :
       {DatapathMap::kConntrack, DatapathMap::kCounters, DatapathMap::kStats,
        DatapathMap::kEventRate, DatapathMap::kFragments}) {
    state.maps[agent::MapPinName(map)] =
        DumpMap(map, absl::StrCat(root, "/", agent::MapPinName(map)));
  }
  state.ring_position =
      RingProducerPosition(absl::StrCat(root, "/", agent::MapPinName(DatapathMap::kEvents)));
  return state;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "namespace/name" of each policy in a record's isolated_by, whether an entry is that
// string or an object with the two fields.
std::vector<std::string> IsolatedBy(const json& record) {
  std::vector<std::string> names;
  for (const json& entry : record.value("isolated_by", json::array())) {
    names.push_back(entry.is_string()
                        ? entry.get<std::string>()
                        : absl::StrCat(entry.value("namespace", ""), "/", entry.value("name", "")));
  }
  return names;
}

struct Output {
  int exit_code;
  std::string out;
  std::string err;
};

class ExplainNodeTest : public AgentLabTest {
 protected:
  void SetUp() override {
    AgentLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    LabNames names(lab_name_);
    const std::string node = Pod("x/a").node;
    pin_root_ = names.BpffsRoot(node);
    log_ = absl::StrCat(names.NodeDir(node), "/verdicts.jsonl");
    manifests_ = names.NodeManifestDir(node);
  }

  Output Explain(std::vector<std::string> args) const {
    std::vector<std::string> all = {"--node", "--bpffs-root", pin_root_, "--verdict-log", log_};
    all.insert(all.end(), args.begin(), args.end());
    std::ostringstream out, err;
    const int code = cli::RunExplain(all, out, err);
    return {code, out.str(), err.str()};
  }

  // Waits until the node's log holds a denied record from `from` to x/a:80.
  void WaitForDenyLogged(const std::string& from) const {
    const std::string ip = Pod(from).ipv4->ToString();
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::istringstream lines(ReadFile(log_));
      for (std::string line; std::getline(lines, line);) {
        json record = json::parse(line, nullptr, false);
        if (record.is_object() && record.value("verdict", "") == "deny" &&
            record["src"].value("ip", "") == ip) {
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no deny from " << from << " logged in " << log_;
  }

  std::string pin_root_;
  std::string log_;
  std::string manifests_;
};

TEST_F(ExplainNodeTest, DeniedFlowShowsNodeVerdictRecordsAndCountersAndChangesNothing) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  WaitForDenyLogged("z/a");
  const NodeState before = ReadNodeState(pin_root_);
  const Output result =
      Explain({"--from", "z/a", "--to", "x/a", "--port", "80", "-o", "json", manifests_});
  const NodeState after = ReadNodeState(pin_root_);
  for (const auto& [name, dump] : before.maps) {
    EXPECT_TRUE(dump == after.maps.at(name)) << "explaining changed " << name;
  }
  EXPECT_EQ(before.ring_position, after.ring_position) << "explaining emitted events";
  EXPECT_FALSE(before.maps.at("fw_counters_v1").empty());  // the denied SYNs counted

  ASSERT_EQ(result.exit_code, 1) << result.err;
  const json explanation = json::parse(result.out);
  const std::string x_a = Pod("x/a").ipv4->ToString();
  EXPECT_EQ(explanation["toIp"], x_a);
  EXPECT_EQ(explanation["node"]["pinRoot"], pin_root_);
  EXPECT_GT(explanation["node"]["generation"].get<int>(), 1);  // the agent has applied
  EXPECT_EQ(explanation["node"]["toIsEndpoint"], true);
  EXPECT_EQ(explanation["node"]["fromIsEndpoint"], Pod("z/a").node == Pod("x/a").node);
  EXPECT_EQ(explanation["node"]["allowed"], false);
  EXPECT_EQ(explanation["node"]["ingress"]["allowed"], false);
  EXPECT_THAT(explanation["node"]["ingress"]["explanation"].get<std::string>(),
              HasSubstr("no ingress rule"));
  EXPECT_EQ(explanation["files"]["allowed"], false);
  EXPECT_THAT(explanation["files"]["ingress"]["isolatingPolicies"], Contains("x/only-from-y"));
  EXPECT_EQ(explanation["differences"], json::array());

  ASSERT_FALSE(explanation["recent"].empty());
  EXPECT_EQ(explanation["recent"].size(), explanation["recentMatching"].get<size_t>());
  for (const json& record : explanation["recent"]) {
    SCOPED_TRACE(record.dump());
    EXPECT_EQ(record["verdict"], "deny");
    EXPECT_EQ(record["reason"], "DEFAULT_DENY");
    EXPECT_EQ(record["dst"]["ip"], x_a);
    EXPECT_EQ(record["dst"]["port"], 80);
    EXPECT_THAT(IsolatedBy(record), Contains("x/only-from-y"));
  }

  bool counted = false;
  for (const json& counter : explanation["counters"]) {
    if (counter["endpoint"] != "x/a" || counter["direction"] != "ingress" ||
        counter["reason"] != "DEFAULT_DENY") {
      continue;
    }
    counted = true;
    EXPECT_GE(counter["packets"].get<uint64_t>(), 1u);
    EXPECT_GT(counter["bytes"].get<uint64_t>(), counter["packets"].get<uint64_t>());
  }
  EXPECT_TRUE(counted) << explanation["counters"].dump();
}

TEST_F(ExplainNodeTest, WithoutFilesPodsAreNamedFromTheLogAndTextKeepsTheNewestRecords) {
  Apply("only-from-y.yaml", kOnlyFromYPolicy);
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  ASSERT_FALSE(Connects("z/a", "x/a", 80));
  WaitForDenyLogged("z/a");
  const Output denied = Explain({"--from", "z/a", "--to", "x/a", "--port", "80", "--recent", "1"});
  EXPECT_EQ(denied.exit_code, 1) << denied.err;
  EXPECT_THAT(denied.out, HasSubstr(absl::StrCat("z/a (", Pod("z/a").ipv4->ToString(), ") -> x/a (",
                                                 Pod("x/a").ipv4->ToString(), ") TCP/80\nnode (",
                                                 pin_root_, ", policy generation ")));
  EXPECT_THAT(denied.out, HasSubstr("): DENIED\n"));
  EXPECT_THAT(denied.out, HasSubstr("recent verdicts: 1 of "));
  EXPECT_THAT(denied.out, HasSubstr(" DENY DEFAULT_DENY ingress TCP"));
  EXPECT_THAT(denied.out, HasSubstr("  x/a ingress DEFAULT_DENY: "));
  EXPECT_THAT(denied.out, ::testing::Not(HasSubstr("files:")));

  // A flow the node allows and never logged: exit 0, no records.
  const Output allowed =
      Explain({"--from", Pod("y/a").ipv4->ToString(), "--to", "x/a", "--port", "80"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr("): ALLOWED\n"));
  EXPECT_THAT(allowed.out, HasSubstr("recent verdicts: 0 of 0 record(s) of this flow\n"));
}

TEST_F(ExplainNodeTest, SaysWhereTheNodeDiffersFromTheFilesGiven) {
  // The node enforces no policy yet; the files given already hold one.
  const std::string proposed = temp_.Write("proposed.yaml", kOnlyFromYPolicy);
  const Output result =
      Explain({"--from", "z/a", "--to", "x/a", "--port", "80", manifests_, proposed});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("): ALLOWED\n"));
  EXPECT_THAT(result.out, HasSubstr("files: DENIED\n"));
  EXPECT_THAT(
      result.out,
      HasSubstr("the node DIFFERS from the files (not converged yet, or other files):\n"
                "  ingress of x/a: node allow (NOT_ISOLATED), files DENY (DEFAULT_DENY)\n"));
}

}  // namespace
}  // namespace flatwall::lab
