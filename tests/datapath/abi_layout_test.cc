// The BPF/C++ ABI: every struct of abi/ as the BPF objects were compiled (their BTF) has
// the size and member offsets g++ gives it here, and every map in every object is named
// by its FW_PIN_* constant with the ABI key and value sizes. Needs no privileges.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "abi/common.h"
#include "abi/datapath_maps.h"
#include "abi/event.h"
#include "abi/policy_maps.h"
#include "agent/datapath.h"
#include "gtest/gtest.h"

namespace flatwall::agent {
namespace {

struct Member {
  std::string name;
  size_t offset;
};
struct Layout {
  std::string name;
  size_t size;
  std::vector<Member> members;  // every member, in declaration order
};

#define FW_MEMBER(type, field) Member{#field, offsetof(type, field)}

const std::vector<Layout>& AbiLayouts() {
  static const auto* layouts = new std::vector<Layout>{
      {"fw_addr", sizeof(fw_addr), {FW_MEMBER(fw_addr, bytes)}},
      {"fw_endpoint_key", sizeof(fw_endpoint_key), {FW_MEMBER(fw_endpoint_key, addr)}},
      {"fw_endpoint_value",
       sizeof(fw_endpoint_value),
       {FW_MEMBER(fw_endpoint_value, identity), FW_MEMBER(fw_endpoint_value, ruleset),
        FW_MEMBER(fw_endpoint_value, flags), FW_MEMBER(fw_endpoint_value, rule_kinds),
        FW_MEMBER(fw_endpoint_value, pad)}},
      {"fw_ipcache_key", sizeof(fw_ipcache_key), {FW_MEMBER(fw_ipcache_key, addr)}},
      {"fw_ipcache_value",
       sizeof(fw_ipcache_value),
       {FW_MEMBER(fw_ipcache_value, identity), FW_MEMBER(fw_ipcache_value, cidr_class)}},
      {"fw_cidr_key",
       sizeof(fw_cidr_key),
       {FW_MEMBER(fw_cidr_key, prefixlen), FW_MEMBER(fw_cidr_key, addr)}},
      {"fw_cidr_value", sizeof(fw_cidr_value), {FW_MEMBER(fw_cidr_value, cidr_class)}},
      {"fw_rule_key",
       sizeof(fw_rule_key),
       {FW_MEMBER(fw_rule_key, prefixlen), FW_MEMBER(fw_rule_key, ruleset),
        FW_MEMBER(fw_rule_key, direction), FW_MEMBER(fw_rule_key, remote_kind),
        FW_MEMBER(fw_rule_key, pad1), FW_MEMBER(fw_rule_key, remote),
        FW_MEMBER(fw_rule_key, protocol), FW_MEMBER(fw_rule_key, pad2),
        FW_MEMBER(fw_rule_key, port)}},
      {"fw_rule_value",
       sizeof(fw_rule_value),
       {FW_MEMBER(fw_rule_value, rule_id), FW_MEMBER(fw_rule_value, action),
        FW_MEMBER(fw_rule_value, flags), FW_MEMBER(fw_rule_value, priority)}},
      {"fw_config",
       sizeof(fw_config),
       {FW_MEMBER(fw_config, generation), FW_MEMBER(fw_config, flags),
        FW_MEMBER(fw_config, service_mark), FW_MEMBER(fw_config, event_interval_ns),
        FW_MEMBER(fw_config, event_burst), FW_MEMBER(fw_config, pad)}},
      {"fw_ct_key",
       sizeof(fw_ct_key),
       {FW_MEMBER(fw_ct_key, local), FW_MEMBER(fw_ct_key, remote),
        FW_MEMBER(fw_ct_key, local_port), FW_MEMBER(fw_ct_key, remote_port),
        FW_MEMBER(fw_ct_key, protocol), FW_MEMBER(fw_ct_key, pad)}},
      {"fw_ct_value",
       sizeof(fw_ct_value),
       {FW_MEMBER(fw_ct_value, last_seen_ns), FW_MEMBER(fw_ct_value, packets),
        FW_MEMBER(fw_ct_value, bytes), FW_MEMBER(fw_ct_value, generation),
        FW_MEMBER(fw_ct_value, rule_id), FW_MEMBER(fw_ct_value, origin),
        FW_MEMBER(fw_ct_value, flags), FW_MEMBER(fw_ct_value, tcp_flags),
        FW_MEMBER(fw_ct_value, reason), FW_MEMBER(fw_ct_value, veth_ifindex)}},
      {"fw_frag_key",
       sizeof(fw_frag_key),
       {FW_MEMBER(fw_frag_key, saddr), FW_MEMBER(fw_frag_key, daddr), FW_MEMBER(fw_frag_key, id),
        FW_MEMBER(fw_frag_key, protocol), FW_MEMBER(fw_frag_key, direction),
        FW_MEMBER(fw_frag_key, pad)}},
      {"fw_frag_value",
       sizeof(fw_frag_value),
       {FW_MEMBER(fw_frag_value, first_seen_ns), FW_MEMBER(fw_frag_value, rule_id),
        FW_MEMBER(fw_frag_value, verdict), FW_MEMBER(fw_frag_value, reason),
        FW_MEMBER(fw_frag_value, flags), FW_MEMBER(fw_frag_value, pad)}},
      {"fw_service_key", sizeof(fw_service_key), {FW_MEMBER(fw_service_key, addr)}},
      {"fw_service_value", sizeof(fw_service_value), {FW_MEMBER(fw_service_value, flags)}},
      {"fw_veth_value",
       sizeof(fw_veth_value),
       {FW_MEMBER(fw_veth_value, ifindex), FW_MEMBER(fw_veth_value, count),
        FW_MEMBER(fw_veth_value, addrs)}},
      {"fw_counter_key",
       sizeof(fw_counter_key),
       {FW_MEMBER(fw_counter_key, endpoint), FW_MEMBER(fw_counter_key, direction),
        FW_MEMBER(fw_counter_key, reason), FW_MEMBER(fw_counter_key, pad)}},
      {"fw_counter_value",
       sizeof(fw_counter_value),
       {FW_MEMBER(fw_counter_value, packets), FW_MEMBER(fw_counter_value, bytes)}},
      {"fw_evrate_key", sizeof(fw_evrate_key), {FW_MEMBER(fw_evrate_key, endpoint)}},
      {"fw_evrate_value",
       sizeof(fw_evrate_value),
       {FW_MEMBER(fw_evrate_value, tat_ns), FW_MEMBER(fw_evrate_value, suppressed)}},
      {"fw_event",
       sizeof(fw_event),
       {FW_MEMBER(fw_event, timestamp_ns), FW_MEMBER(fw_event, saddr),
        FW_MEMBER(fw_event, daddr), FW_MEMBER(fw_event, sport), FW_MEMBER(fw_event, dport),
        FW_MEMBER(fw_event, protocol), FW_MEMBER(fw_event, direction),
        FW_MEMBER(fw_event, verdict), FW_MEMBER(fw_event, reason),
        FW_MEMBER(fw_event, local_identity), FW_MEMBER(fw_event, remote_identity),
        FW_MEMBER(fw_event, rule_id), FW_MEMBER(fw_event, cidr_class),
        FW_MEMBER(fw_event, ifindex), FW_MEMBER(fw_event, packet_len),
        FW_MEMBER(fw_event, suppressed), FW_MEMBER(fw_event, hook),
        FW_MEMBER(fw_event, tcp_flags), FW_MEMBER(fw_event, icmp_type),
        FW_MEMBER(fw_event, icmp_code)}},
  };
  return *layouts;
}

struct MapLayout {
  DatapathMap map;
  size_t key_size;
  size_t value_size;
};

const std::vector<MapLayout>& MapLayouts() {
  static const auto* maps = new std::vector<MapLayout>{
      {DatapathMap::kEndpoints, sizeof(fw_endpoint_key), sizeof(fw_endpoint_value)},
      {DatapathMap::kIpcache, sizeof(fw_ipcache_key), sizeof(fw_ipcache_value)},
      {DatapathMap::kCidrs, sizeof(fw_cidr_key), sizeof(fw_cidr_value)},
      {DatapathMap::kRules, sizeof(fw_rule_key), sizeof(fw_rule_value)},
      {DatapathMap::kRuleRanges, sizeof(fw_rule_key), sizeof(fw_rule_value)},
      {DatapathMap::kConfig, sizeof(uint32_t), sizeof(fw_config)},
      {DatapathMap::kServices, sizeof(fw_service_key), sizeof(fw_service_value)},
      {DatapathMap::kVeth, sizeof(uint32_t), sizeof(fw_veth_value)},
      {DatapathMap::kVethBig, sizeof(uint32_t), sizeof(fw_veth_value)},
      {DatapathMap::kConntrack, sizeof(fw_ct_key), sizeof(fw_ct_value)},
      {DatapathMap::kFragments, sizeof(fw_frag_key), sizeof(fw_frag_value)},
      {DatapathMap::kCounters, sizeof(fw_counter_key), sizeof(fw_counter_value)},
      {DatapathMap::kStats, sizeof(uint32_t), sizeof(fw_counter_value)},
      {DatapathMap::kEventRate, sizeof(fw_evrate_key), sizeof(fw_evrate_value)},
      {DatapathMap::kEvents, 0, 0},
  };
  return *maps;
}

std::vector<std::string> ObjectPaths() {
  std::vector<std::string> paths;
  for (const char* name : {"from_pod", "to_pod", "uplink"}) {
    paths.push_back(std::string(FLATWALL_BPF_OBJECT_DIR) + "/" + name + ".bpf.o");
  }
  return paths;
}

TEST(AbiLayoutTest, EveryAbiStructInTheObjectsBtfMatchesTheCppLayout) {
  for (const std::string& path : ObjectPaths()) {
    SCOPED_TRACE(path);
    btf* types = btf__parse_elf(path.c_str(), nullptr);
    ASSERT_NE(types, nullptr) << "no BTF in " << path;
    for (const Layout& layout : AbiLayouts()) {
      SCOPED_TRACE(layout.name);
      const int id = btf__find_by_name_kind(types, layout.name.c_str(), BTF_KIND_STRUCT);
      ASSERT_GT(id, 0) << "struct missing from the object's BTF";
      const btf_type* type = btf__type_by_id(types, id);
      EXPECT_EQ(type->size, layout.size);
      ASSERT_EQ(btf_vlen(type), layout.members.size()) << "a member is not in the table";
      const btf_member* members = btf_members(type);
      for (size_t i = 0; i < layout.members.size(); ++i) {
        SCOPED_TRACE(layout.members[i].name);
        EXPECT_EQ(btf__name_by_offset(types, members[i].name_off), layout.members[i].name);
        EXPECT_EQ(btf_member_bit_offset(type, i), layout.members[i].offset * 8);
        EXPECT_EQ(btf_member_bitfield_size(type, i), 0u) << "ABI structs have no bitfields";
      }
    }
    btf__free(types);
  }
}

TEST(AbiLayoutTest, EveryObjectDefinesEveryMapUnderItsPinNameWithAbiSizes) {
  for (const std::string& path : ObjectPaths()) {
    SCOPED_TRACE(path);
    bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
    ASSERT_NE(object, nullptr);
    size_t maps_in_object = 0;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object) {
      ++maps_in_object;
      EXPECT_LE(std::strlen(bpf_map__name(map)), 15u) << bpf_map__name(map);
    }
    EXPECT_EQ(maps_in_object, MapLayouts().size()) << "only the ABI's maps, no .data/.bss";
    for (const MapLayout& expected : MapLayouts()) {
      SCOPED_TRACE(MapPinName(expected.map));
      const bpf_map* found = bpf_object__find_map_by_name(object, MapPinName(expected.map));
      ASSERT_NE(found, nullptr);
      EXPECT_EQ(bpf_map__key_size(found), expected.key_size);
      EXPECT_EQ(bpf_map__value_size(found), expected.value_size);
      // LIBBPF_PIN_BY_NAME: pinned as <root>/<name>; /sys/fs/bpf is libbpf's default root.
      ASSERT_NE(bpf_map__pin_path(found), nullptr);
      EXPECT_EQ(std::string(bpf_map__pin_path(found)),
                std::string("/sys/fs/bpf/") + MapPinName(expected.map));
    }
    bpf_object__close(object);
  }
}

}  // namespace
}  // namespace flatwall::agent
