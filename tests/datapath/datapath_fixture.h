// A gtest fixture that loads the real datapath under a bpffs pin root unique to the test
// process and removes it afterwards, plus builders for policy-table entries and packets
// in the vocabulary of the tests (addresses as text, rules as designated initialisers).
//
// Not here: the packet builder itself (agent/packet_builder.h).
#ifndef FLATWALL_TESTS_DATAPATH_DATAPATH_FIXTURE_H_
#define FLATWALL_TESTS_DATAPATH_DATAPATH_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/policy_maps.h"
#include "agent/datapath.h"
#include "agent/map_writer.h"
#include "agent/packet_builder.h"
#include "agent/packet_runner.h"
#include "gtest/gtest.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/map_image.h"

namespace flatwall::agent::testing {

// Parses an address; the test fails (and the address is ::) when the text is bad.
compiler::IpAddress Ip(const std::string& text);
fw_addr AbiAddr(const std::string& text);

// The pin root this process's tests use: /sys/fs/bpf/flatwall-test-<pid>.
std::string TestPinRoot();

// Skips the running test unless it runs as root, and mounts bpffs at /sys/fs/bpf when it
// is missing. Call from SetUp; then `if (IsSkipped()) return;`.
void RequireRootAndBpffs();

struct EndpointSpec {
  std::string ip;
  uint32_t identity = 0;
  uint32_t ruleset = 0;
  uint8_t flags = 0;  // enum fw_endpoint_flags
  uint8_t ingress_kinds = 0;  // enum fw_rule_kind_mask
  uint8_t egress_kinds = 0;
};
compiler::EndpointEntry MakeEndpoint(const EndpointSpec& spec);
compiler::IpcacheEntry MakeIpcache(const std::string& ip, uint32_t identity,
                                   uint32_t cidr_class = 0);
compiler::CidrEntry MakeCidr(const std::string& prefix, uint32_t cidr_class);

// An allow rule. No protocol: every protocol (ICMP included). A protocol and no port:
// every port of it. A port with port_bits < 16: the prefix port/port_bits, as the
// compiler expresses an endPort range.
struct RuleSpec {
  uint32_t ruleset = 0;
  fw_direction direction = FW_DIR_INGRESS;
  fw_remote_kind kind = FW_REMOTE_ANY;
  uint32_t remote = 0;
  std::optional<uint8_t> protocol;
  std::optional<uint16_t> port;
  int port_bits = 16;
  uint32_t rule_id = 0;
};
compiler::RuleEntry MakeRule(const RuleSpec& spec);

// Policy tables to seed, written with MapWriter::Apply (as upserts).
struct Tables {
  std::vector<compiler::EndpointEntry> endpoints;
  std::vector<compiler::IpcacheEntry> ipcache;
  std::vector<compiler::CidrEntry> cidrs;
  std::vector<compiler::RuleEntry> rules;
};
compiler::MapDiff UpsertAll(const Tables& tables);

// Loads the datapath once per test suite (verification takes most of a second) and
// resets every map before each test: tables, flows, counters, events and configuration.
class DatapathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Writes `tables` with MapWriter::Apply (which also bumps the generation).
  void Seed(const Tables& tables);
  // Runs a frame through a hook; the test fails on a runner error. While
  // bind_source_on_run_ is set, a from-pod run first binds the test-run device (the
  // "veth" of test runs, kTestRunIfindex) to the frame's source address, so the frame
  // passes source enforcement and the test sees the later steps.
  RunResult Run(fw_hook hook, const std::vector<uint8_t>& frame, const RunOptions& options = {});
  // Deletes every conntrack and fragment entry.
  void ClearFlows();
  // Makes every conntrack entry look `age_ns` old (last packet that long ago).
  void AgeFlows(uint64_t age_ns);
  // Conntrack entries of the map, live or not.
  std::vector<std::pair<fw_ct_key, fw_ct_value>> Flows();
  fw_config Config();
  void SetConfig(const fw_config& config);

  // Empties every map and restores the default configuration.
  void ResetMaps();

  Datapath* datapath_ = nullptr;  // owned by the suite
  bool bind_source_on_run_ = true;  // tests of source enforcement clear it
  std::unique_ptr<MapWriter> writer_;
  std::unique_ptr<PacketRunner> runner_;

 private:
  static std::unique_ptr<Datapath>* suite_datapath_;
};

}  // namespace flatwall::agent::testing

#endif  // FLATWALL_TESTS_DATAPATH_DATAPATH_FIXTURE_H_
