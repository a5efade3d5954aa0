// The compiler's output: a "map image" — for each datapath map, the sorted list of
// (key, value) ABI structs it must hold — plus the userspace-only tables that name what
// the numbers in those structs mean (rules, identities, endpoints), and the diff between
// two images in the order that keeps every change make-before-break.
//
// Not here: how an image is computed (compiler.h), how a flow is looked up in one
// (policy_lookup.h), how it is written to the kernel (agent/).
#ifndef FLATWALL_POLICY_COMPILER_MAP_IMAGE_H_
#define FLATWALL_POLICY_COMPILER_MAP_IMAGE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "abi/policy_maps.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler {

// Orders ABI structs the way the kernel compares keys: byte by byte.
template <typename T>
bool AbiLess(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) < 0;
}
template <typename T>
bool AbiEqual(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <typename Key, typename Value>
struct MapEntry {
  Key key;
  Value value;
};

using EndpointEntry = MapEntry<fw_endpoint_key, fw_endpoint_value>;
using IpcacheEntry = MapEntry<fw_ipcache_key, fw_ipcache_value>;
using CidrEntry = MapEntry<fw_cidr_key, fw_cidr_value>;
using RuleEntry = MapEntry<fw_rule_key, fw_rule_value>;

// What a fw_rule_value.rule_id stands for: one ingress or egress rule of one policy.
struct RuleInfo {
  uint32_t rule_id = 0;
  std::string policy_namespace;
  std::string policy_name;
  std::string policy_uid;
  int64_t policy_generation = 0;
  fw_direction direction = FW_DIR_INGRESS;
  int rule_index = 0;  // index into spec.ingress or spec.egress
};

// A policy that isolates a local pod (named in an EndpointInfo's isolating_policies), for
// naming it in the verdict log with its uid and generation even when it has no rules.
struct PolicyInfo {
  std::string policy_namespace;
  std::string policy_name;
  std::string policy_uid;  // empty when the manifest has none
  int64_t policy_generation = 0;
};

// What an identity stands for.
struct IdentityInfo {
  uint32_t identity = 0;
  std::string namespace_name;
  LabelSet labels;
  LabelSet namespace_labels;
};

// A local pod IP and who it belongs to.
struct EndpointInfo {
  IpAddress address;
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  // "namespace/name" of the policies that isolate the pod, per direction (sorted).
  std::vector<std::string> isolating_policies[FW_DIR_COUNT];
};

// A pod IP anywhere in the cluster and who it belongs to (for attributing remote ends).
struct PodAddressInfo {
  IpAddress address;
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string node_name;
};

// Every vector is sorted by key (AbiLess on the ABI key, or the id/address for the info
// tables) and free of duplicate keys, so equal inputs give byte-identical images.
struct MapImage {
  std::vector<EndpointEntry> endpoints;
  std::vector<IpcacheEntry> ipcache;
  std::vector<CidrEntry> cidrs;
  std::vector<RuleEntry> rules;

  std::vector<RuleInfo> rule_table;
  std::vector<IdentityInfo> identities;
  std::vector<EndpointInfo> endpoint_info;
  std::vector<PodAddressInfo> pod_addresses;
  std::vector<PolicyInfo> policy_table;  // by (namespace, name)
};

template <typename Entry>
struct MapChanges {
  std::vector<Entry> upserts;  // new keys, or keys whose value changed
  std::vector<decltype(Entry::key)> deletes;
  bool empty() const { return upserts.empty() && deletes.empty(); }
  size_t size() const { return upserts.size() + deletes.size(); }
};

// The changes that turn one image into another. Apply them in this order, which never
// lets a packet see a half-applied change:
//   1. rules.upserts     (new rulesets are complete before anything points at them)
//   2. cidrs.upserts, ipcache.upserts, endpoints.upserts  (flip to the new state)
//   3. endpoints.deletes, ipcache.deletes, cidrs.deletes, rules.deletes  (drop the old)
struct MapDiff {
  MapChanges<RuleEntry> rules;
  MapChanges<CidrEntry> cidrs;
  MapChanges<IpcacheEntry> ipcache;
  MapChanges<EndpointEntry> endpoints;

  bool empty() const {
    return rules.empty() && cidrs.empty() && ipcache.empty() && endpoints.empty();
  }
  size_t size() const { return rules.size() + cidrs.size() + ipcache.size() + endpoints.size(); }
};

// An address in its ABI form and back: both are the 16 bytes of the IPv4-mapped form.
fw_addr ToAbi(const IpAddress& address);
IpAddress FromAbi(const fw_addr& address);

// The minimal diff from `from` to `to` (entries equal in both are not mentioned).
MapDiff DiffImages(const MapImage& from, const MapImage& to);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_MAP_IMAGE_H_
