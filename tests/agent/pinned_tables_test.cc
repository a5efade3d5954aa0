// Reading the pinned policy tables back: tables written with MapWriter into the real maps
// come back as the image they were written from, byte for byte and in AbiLess order.
#include "agent/pinned_tables.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

#include "agent/map_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/map_image.h"
#include "tests/agent/kernel_test_fixture.h"
#include "tests/testing/image_compare.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::testing::ApplyDiff;
using ::flatwall::testing::SameTables;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

fw_addr Abi(const compiler::IpAddress& address) {
  fw_addr addr{};
  std::memcpy(addr.bytes, address.bytes().data(), sizeof(addr.bytes));
  return addr;
}

class PinnedTablesTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    LoadDatapath();
  }

  compiler::EndpointEntry Endpoint(const std::string& ip, uint32_t identity, uint32_t ruleset) {
    compiler::EndpointEntry entry{};
    entry.key.addr = Abi(Ip(ip));
    entry.value.identity = identity;
    entry.value.ruleset = ruleset;
    entry.value.flags = FW_EP_ISOLATED_INGRESS;
    entry.value.rule_kinds[FW_DIR_INGRESS] = FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_CIDR;
    return entry;
  }

  compiler::IpcacheEntry Ipcache(const std::string& ip, uint32_t identity, uint32_t cidr_class) {
    compiler::IpcacheEntry entry{};
    entry.key.addr = Abi(Ip(ip));
    entry.value = {identity, cidr_class};
    return entry;
  }

  compiler::CidrEntry Cidr(const std::string& prefix, uint32_t cidr_class) {
    absl::StatusOr<compiler::IpPrefix> parsed = compiler::IpPrefix::Parse(prefix);
    EXPECT_TRUE(parsed.ok()) << prefix;
    compiler::CidrEntry entry{};
    if (!parsed.ok()) return entry;
    entry.key.prefixlen = parsed->length128();
    entry.key.addr = Abi(parsed->address());
    entry.value.cidr_class = cidr_class;
    return entry;
  }

  // An allow rule; `prefixlen` says how much of the key is matched (a port prefix for a
  // range, FW_RULE_BITS_ANY_PROTOCOL for a rule without ports).
  static compiler::RuleEntry Rule(uint32_t ruleset, fw_remote_kind kind, uint32_t remote,
                                  uint8_t protocol, uint16_t port, uint32_t prefixlen,
                                  uint32_t rule_id) {
    compiler::RuleEntry entry{};
    entry.key.prefixlen = prefixlen;
    entry.key.ruleset = ruleset;
    entry.key.direction = FW_DIR_INGRESS;
    entry.key.remote_kind = kind;
    entry.key.remote = remote;
    entry.key.protocol = protocol;
    entry.key.port = htons(port);
    entry.value.rule_id = rule_id;
    entry.value.action = FW_ACTION_ALLOW;
    return entry;
  }

  // Every table's entries as upserts, deliberately out of key order.
  compiler::MapDiff Initial() {
    compiler::MapDiff diff;
    diff.endpoints.upserts = {Endpoint("10.30.0.2", 300, 7), Endpoint("fd00:30::1", 301, 8),
                              Endpoint("10.30.0.1", 300, 7)};
    diff.ipcache.upserts = {Ipcache("10.30.0.1", 300, 0), Ipcache("10.99.0.1", 1, 2),
                            Ipcache("fd00:30::1", 301, 0), Ipcache("10.30.0.2", 300, 1)};
    diff.cidrs.upserts = {Cidr("10.0.0.0/8", 1), Cidr("10.99.0.0/16", 2),
                          Cidr("fd00::/16", 3)};
    diff.rules.upserts = {
        Rule(7, FW_REMOTE_IDENTITY, 301, IPPROTO_TCP, 80, FW_RULE_KEY_BITS, 11),
        Rule(7, FW_REMOTE_CIDR, 1, IPPROTO_TCP, 8080, FW_RULE_KEY_BITS - 3, 12),
        Rule(8, FW_REMOTE_ANY, 0, 0, 0, FW_RULE_BITS_ANY_PROTOCOL, 13),
        Rule(7, FW_REMOTE_IDENTITY, 300, IPPROTO_UDP, 0, FW_RULE_BITS_ANY_PORT, 14)};
    return diff;
  }

  compiler::MapImage Read() {
    absl::StatusOr<compiler::MapImage> image = ReadPinnedTables(*datapath_);
    EXPECT_THAT(image, ::flatwall::testing::IsOk());
    return image.ok() ? *image : compiler::MapImage{};
  }
};

TEST_F(PinnedTablesTest, FreshDatapathReadsAsEmptyTables) {
  EXPECT_TRUE(SameTables(Read(), compiler::MapImage{}));
}

TEST_F(PinnedTablesTest, WrittenTablesReadBackSortedAndByteIdentical) {
  MapWriter writer(*datapath_);
  FW_ASSERT_OK(writer.Apply(Initial()));
  const compiler::MapImage want = ApplyDiff(compiler::MapImage{}, Initial());
  const compiler::MapImage pinned = Read();
  EXPECT_TRUE(SameTables(pinned, want));
  EXPECT_TRUE(DiffImages(pinned, want).empty());
  EXPECT_THAT(pinned.rule_table, IsEmpty());  // not in the kernel
}

TEST_F(PinnedTablesTest, DiffAgainstTheReadImageTurnsThePinnedMapsIntoTheDesiredOnes) {
  MapWriter writer(*datapath_);
  FW_ASSERT_OK(writer.Apply(Initial()));
  compiler::MapDiff change;
  change.endpoints.deletes = {Endpoint("10.30.0.2", 0, 0).key};
  change.endpoints.upserts = {Endpoint("10.30.0.1", 300, 9)};
  change.ipcache.deletes = {Ipcache("10.99.0.1", 0, 0).key};
  change.cidrs.deletes = {Cidr("10.99.0.0/16", 0).key};
  change.rules.upserts = {Rule(9, FW_REMOTE_ANY, 0, IPPROTO_TCP, 443, FW_RULE_KEY_BITS, 15)};
  const compiler::MapImage desired = ApplyDiff(ApplyDiff(compiler::MapImage{}, Initial()), change);

  // What a restarted agent does: read the pins, diff, apply only the difference.
  FW_ASSERT_OK(writer.Apply(DiffImages(Read(), desired)));
  EXPECT_TRUE(SameTables(Read(), desired));
}

TEST_F(PinnedTablesTest, ServicesReadBackSorted) {
  MapWriter writer(*datapath_);
  FW_ASSERT_OK(writer.UpsertServices({Ip("fd00:96::10"), Ip("10.96.0.20"), Ip("10.96.0.10")}));
  absl::StatusOr<std::vector<compiler::IpAddress>> services = ReadPinnedServices(*datapath_);
  FW_ASSERT_OK(services);
  EXPECT_THAT(*services, ElementsAre(Ip("10.96.0.10"), Ip("10.96.0.20"), Ip("fd00:96::10")));
}

}  // namespace
}  // namespace flatwall::agent::testing
