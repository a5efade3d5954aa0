// The BPF programs and the compiler's userspace lookup (policy_lookup.h) agree on every
// flow of the example cluster: the tables come from the real compiler
// (examples/policies/00-shop), are written with DiffImages + MapWriter::Apply, and each
// flow is probed through the from-pod and to-pod programs with FlowProber and asked of
// CheckFlow.
#include <netinet/in.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/flow_prober.h"
#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/manifest_decoder.h"
#include "policy-compiler/policy_lookup.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

compiler::ClusterState ExampleCluster() {
  compiler::ClusterState state;
  const std::filesystem::path dir =
      std::filesystem::path(FLATWALL_SOURCE_DIR) / "examples/policies/00-shop";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    // expected.txt beside the manifests is the example's reachability, not a manifest.
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file);
    std::stringstream contents;
    contents << in.rdbuf();
    const compiler::DecodeResult decoded = compiler::DecodeManifest(file.string(), contents.str());
    EXPECT_TRUE(decoded.errors.empty()) << decoded.errors.front().ToString();
    for (const compiler::ClusterObject& object : decoded.objects) {
      state.Apply({compiler::ClusterEvent::kUpsert, object});
    }
  }
  return state;
}

// Every pod address, one address inside each ipBlock prefix (so each CIDR class is
// exercised), and addresses in no block.
std::vector<compiler::IpAddress> Addresses(const compiler::MapImage& image) {
  std::vector<compiler::IpAddress> addresses;
  for (const compiler::PodAddressInfo& pod : image.pod_addresses) addresses.push_back(pod.address);
  for (const compiler::CidrEntry& cidr : image.cidrs) {
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), cidr.key.addr.bytes, 16);
    bytes[15] |= 7;  // inside the prefix unless it is longer than /125 (then: its edge)
    addresses.push_back(compiler::IpAddress(bytes));
  }
  addresses.push_back(Ip("8.8.8.8"));
  addresses.push_back(Ip("2001:db8::1"));
  return addresses;
}

class CompilerAgreementTest : public DatapathTest {};

TEST_F(CompilerAgreementTest, DatapathAndCompilerLookupAgreeOnEveryExampleFlow) {
  const compiler::ClusterState state = ExampleCluster();
  const compiler::MapImage image = compiler::Compile(state, {.all_nodes = true});
  ASSERT_FALSE(image.endpoints.empty());
  FW_ASSERT_OK(writer_->Apply(compiler::DiffImages(compiler::MapImage{}, image)));

  FlowProber prober(*datapath_);
  const std::vector<compiler::IpAddress> addresses = Addresses(image);
  const std::vector<uint16_t> ports = {53, 80, 443, 5432, 8080, 9090, 9100};
  int flows = 0, allowed = 0;
  for (const compiler::IpAddress& source : addresses) {
    for (const compiler::IpAddress& destination : addresses) {
      if (source == destination || source.is_v4() != destination.is_v4()) continue;
      std::vector<std::pair<uint8_t, uint16_t>> probes;
      for (const uint8_t protocol : {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP}) {
        for (const uint16_t port : ports) probes.emplace_back(protocol, port);
      }
      probes.emplace_back(source.is_v4() ? uint8_t{IPPROTO_ICMP} : uint8_t{IPPROTO_ICMPV6}, 0);
      for (const auto& [protocol, port] : probes) {
        SCOPED_TRACE(source.ToString() + " -> " + destination.ToString() + " protocol " +
                     std::to_string(protocol) + " port " + std::to_string(port));
        const compiler::FlowVerdict expected =
            compiler::CheckFlow(image, source, destination, protocol, port);
        absl::StatusOr<FlowVerdict> actual = prober.Probe({source, destination, protocol, port});
        FW_ASSERT_OK(actual);
        ++flows;
        allowed += actual->allowed;
        EXPECT_EQ(actual->allowed, expected.allowed);
        EXPECT_EQ(ReasonName(actual->from_pod.reason), ReasonName(expected.egress.reason));
        EXPECT_EQ(actual->from_pod.rule_id, expected.egress.rule_id);
        // Both sides, also when the egress dropped (the prober judges the ingress anyway).
        EXPECT_EQ(ReasonName(actual->to_pod.reason), ReasonName(expected.ingress.reason));
        EXPECT_EQ(actual->to_pod.rule_id, expected.ingress.rule_id);
        if (expected.ingress.reason != FW_REASON_NO_ENDPOINT) {
          EXPECT_EQ(actual->to_pod.local_identity, expected.ingress.local_identity);
          EXPECT_EQ(actual->to_pod.remote_identity, expected.ingress.remote_identity);
        }
      }
    }
  }
  RecordProperty("flows", flows);
  RecordProperty("allowed", allowed);
  // The examples isolate pods and allow some flows: both outcomes are exercised.
  EXPECT_GT(allowed, 0);
  EXPECT_LT(allowed, flows);
}

}  // namespace
}  // namespace flatwall::agent::testing
