#include "policy-compiler/cidr_classes.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::Cidr;
using ::flatwall::testing::Ip;

IpBlock Block(const std::string& cidr, const std::vector<std::string>& except = {}) {
  IpBlock block{Cidr(cidr), {}};
  for (const std::string& prefix : except) block.except.push_back(Cidr(prefix));
  return block;
}

// Every cidr and except prefix of `blocks`, once per mention, as policies reference them.
CidrClasses ClassesFor(const std::vector<IpBlock>& blocks) {
  std::map<IpPrefix, uint32_t> references;
  for (const IpBlock& block : blocks) {
    ++references[block.cidr];
    for (const IpPrefix& prefix : block.except) ++references[prefix];
  }
  CidrClasses classes;
  classes.Assign(references);
  return classes;
}

// What the datapath concludes: the address's class is one the block contains.
bool InBlock(const CidrClasses& classes, const IpBlock& block, const std::string& address) {
  std::vector<uint32_t> inside = classes.ClassesIn(block);
  uint32_t cidr_class = classes.ClassOf(Ip(address));
  return cidr_class != 0 && std::binary_search(inside.begin(), inside.end(), cidr_class);
}

struct MembershipCase {
  std::string address;
  bool inside;
};

void ExpectMembership(const std::vector<IpBlock>& all_blocks, const IpBlock& block,
                      const std::vector<MembershipCase>& cases) {
  CidrClasses classes = ClassesFor(all_blocks);
  for (const MembershipCase& test : cases) {
    SCOPED_TRACE(test.address);
    EXPECT_EQ(InBlock(classes, block, test.address), test.inside);
  }
}

TEST(CidrClassesTest, IpBlockWithExceptHoldsExactlyTheAddressesOutsideTheExcepts) {
  IpBlock block = Block("10.0.0.0/8", {"10.1.0.0/16", "10.2.3.0/24"});
  ExpectMembership({block}, block,
                   {
                       {"9.255.255.255", false},
                       {"10.0.0.0", true},
                       {"10.0.255.255", true},
                       {"10.1.0.0", false},
                       {"10.1.255.255", false},
                       {"10.2.0.0", true},
                       {"10.2.2.255", true},
                       {"10.2.3.0", false},
                       {"10.2.3.255", false},
                       {"10.2.4.0", true},
                       {"10.255.255.255", true},
                       {"11.0.0.0", false},
                   });
}

TEST(CidrClassesTest, OtherPoliciesPrefixesDoNotChangeMembership) {
  // Another policy's prefixes split 10/8 into more classes; the block still holds the same
  // addresses, including those inside prefixes it never mentions.
  IpBlock block = Block("10.0.0.0/8", {"10.1.0.0/16"});
  ExpectMembership({block, Block("10.1.2.0/24"), Block("10.3.0.0/16", {"10.3.3.0/24"}),
                    Block("0.0.0.0/0")},
                   block,
                   {
                       {"10.1.2.3", false},
                       {"10.3.0.1", true},
                       {"10.3.3.3", true},
                       {"10.9.9.9", true},
                       {"192.168.0.1", false},
                   });
}

TEST(CidrClassesTest, ExceptMoreSpecificThanAnotherBlocksCidrStaysExcluded) {
  IpBlock outer = Block("10.0.0.0/8", {"10.1.0.0/16"});
  IpBlock inner = Block("10.1.2.0/24");
  std::vector<IpBlock> all = {outer, inner};
  ExpectMembership(all, outer, {{"10.1.2.5", false}, {"10.1.3.5", false}});
  ExpectMembership(all, inner, {{"10.1.2.5", true}, {"10.1.3.5", false}});
}

TEST(CidrClassesTest, Ipv6BlocksWork) {
  IpBlock block = Block("fd00::/8", {"fd00:dead::/32"});
  ExpectMembership({block}, block,
                   {
                       {"fd00::1", true},
                       {"fdff:ffff::1", true},
                       {"fd00:dead::1", false},
                       {"fd00:deae::1", true},
                       {"fe00::1", false},
                   });
}

TEST(CidrClassesTest, Ipv6AllDoesNotHoldIpv4Addresses) {
  IpBlock v6_all = Block("::/0");
  IpBlock v4_all = Block("0.0.0.0/0");
  {
    // The IPv4 remainder comes and goes with the IPv6 prefix that covers it.
    CidrClasses classes;
    CidrChanges added;
    classes.AddReference(v6_all.cidr, &added);
    EXPECT_EQ(added.changed, (std::vector<IpPrefix>{v6_all.cidr, v4_all.cidr}));
    CidrChanges removed;
    classes.RemoveReference(v6_all.cidr, &removed);
    EXPECT_EQ(removed.changed.size(), 2u);
    EXPECT_EQ(classes.size(), 0u);
  }
  ExpectMembership({v6_all}, v6_all, {{"2001:db8::1", true}, {"10.0.0.1", false}});
  ExpectMembership({v6_all, v4_all}, v6_all, {{"10.0.0.1", false}});
  ExpectMembership({v6_all, v4_all}, v4_all, {{"10.0.0.1", true}, {"2001:db8::1", false}});
  // The IPv4 remainder becomes its own class only while an IPv6 prefix covers it.
  CidrClasses classes = ClassesFor({v6_all});
  EXPECT_EQ(classes.size(), 2u);
  EXPECT_NE(classes.ClassOf(Ip("10.0.0.1")), classes.ClassOf(Ip("2001:db8::1")));
}

TEST(CidrClassesTest, AddressOutsideEveryPrefixHasClassZero) {
  CidrClasses classes = ClassesFor({Block("10.0.0.0/8")});
  EXPECT_EQ(classes.ClassOf(Ip("192.168.1.1")), 0u);
  EXPECT_EQ(classes.ClassOf(Ip("fd00::1")), 0u);
  EXPECT_NE(classes.ClassOf(Ip("10.9.8.7")), 0u);
}

TEST(CidrClassesTest, EntriesUseMappedPrefixLengthsAndNonZeroClasses) {
  CidrClasses classes = ClassesFor({Block("10.0.0.0/8", {"10.1.0.0/16"}), Block("fd00::/8")});
  std::vector<CidrEntry> entries = classes.Entries();
  ASSERT_EQ(entries.size(), 3u);
  std::vector<uint32_t> lengths;
  for (const CidrEntry& entry : entries) {
    EXPECT_NE(entry.value.cidr_class, 0u);
    lengths.push_back(entry.key.prefixlen);
  }
  std::sort(lengths.begin(), lengths.end());
  EXPECT_EQ(lengths, (std::vector<uint32_t>{8, 104, 112}));
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return AbiLess(a.key, b.key);
  }));
}

TEST(CidrClassesTest, ClassIdsDependOnlyOnThePrefixSet) {
  CidrClasses bulk = ClassesFor({Block("10.0.0.0/8", {"10.1.0.0/16"}), Block("fd00::/8")});
  CidrClasses incremental;
  CidrChanges changes;
  for (const char* prefix : {"fd00::/8", "172.16.0.0/12", "10.1.0.0/16", "10.0.0.0/8"}) {
    incremental.AddReference(Cidr(prefix), &changes);
  }
  incremental.RemoveReference(Cidr("172.16.0.0/12"), &changes);
  EXPECT_EQ(changes.changed.size(), 5u);
  EXPECT_EQ(incremental.ClassOf(Ip("10.2.0.1")), bulk.ClassOf(Ip("10.2.0.1")));
  EXPECT_EQ(incremental.ClassOf(Ip("10.1.0.1")), bulk.ClassOf(Ip("10.1.0.1")));
  EXPECT_EQ(incremental.ClassOf(Ip("fd00::1")), bulk.ClassOf(Ip("fd00::1")));
  EXPECT_EQ(incremental.ClassOf(Ip("172.16.0.1")), 0u);
}

TEST(CidrClassesTest, ReferencesAreCounted) {
  CidrClasses classes;
  CidrChanges first;
  classes.AddReference(Cidr("10.0.0.0/8"), &first);
  EXPECT_EQ(first.changed, std::vector<IpPrefix>{Cidr("10.0.0.0/8")});
  CidrChanges second;
  classes.AddReference(Cidr("10.0.0.0/8"), &second);
  classes.RemoveReference(Cidr("10.0.0.0/8"), &second);
  EXPECT_TRUE(second.changed.empty());
  EXPECT_NE(classes.ClassOf(Ip("10.0.0.1")), 0u);
  CidrChanges last;
  classes.RemoveReference(Cidr("10.0.0.0/8"), &last);
  EXPECT_EQ(last.changed, std::vector<IpPrefix>{Cidr("10.0.0.0/8")});
  EXPECT_EQ(classes.ClassOf(Ip("10.0.0.1")), 0u);
}

}  // namespace
}  // namespace flatwall::compiler
