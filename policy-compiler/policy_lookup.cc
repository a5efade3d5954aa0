#include "policy-compiler/policy_lookup.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace flatwall::compiler {
namespace {

template <typename Entry>
const Entry* FindExact(const std::vector<Entry>& table, const decltype(Entry::key)& key) {
  auto it = std::lower_bound(
      table.begin(), table.end(), key,
      [](const Entry& entry, const decltype(key)& wanted) { return AbiLess(entry.key, wanted); });
  return it != table.end() && AbiEqual(it->key, key) ? &*it : nullptr;
}

// A BPF LPM-trie lookup: the entry with the longest prefixlen whose first prefixlen bits
// of data (the key after its leading __u32 prefixlen) equal the query's. The compiler
// writes every bit past an entry's prefixlen as zero, so a masked exact search per length
// finds exactly what the kernel's trie finds. Lengths below `shortest` are not tried (a
// trie that holds only longer prefixes).
template <typename Entry>
const Entry* FindLongestPrefix(const std::vector<Entry>& table, decltype(Entry::key) key,
                               int shortest = 0) {
  using Key = decltype(Entry::key);
  constexpr int kDataBits = static_cast<int>(sizeof(Key) - sizeof(__u32)) * 8;
  auto* data = reinterpret_cast<unsigned char*>(&key) + sizeof(__u32);
  for (int length = std::min<int>(key.prefixlen, kDataBits); length >= shortest; --length) {
    if (length < kDataBits) data[length / 8] &= static_cast<unsigned char>(~(0x80 >> (length % 8)));
    key.prefixlen = static_cast<__u32>(length);
    if (const Entry* entry = FindExact(table, key)) return entry;
  }
  return nullptr;
}

// Step 5 for one remote kind, the datapath's way: the shapes the ruleset has, most specific
// first — exact port (fw_rules), the port-range pieces (fw_ranges, longest match), any
// port, any protocol (fw_rules). `key` holds the full query at FW_RULE_KEY_BITS.
const RuleEntry* FindRule(const std::vector<RuleEntry>& rules, fw_rule_key key, __u8 kinds) {
  if (kinds & FW_RULES_HAVE_EXACT_PORT) {
    if (const RuleEntry* rule = FindExact(rules, key)) return rule;
  }
  if (kinds & FW_RULES_HAVE_PORT_RANGE) {
    fw_rule_key range_key = key;
    range_key.prefixlen = FW_RULE_KEY_BITS - 1;
    if (const RuleEntry* rule = FindLongestPrefix(rules, range_key, FW_RULE_BITS_ANY_PORT + 1)) {
      return rule;
    }
  }
  key.port = 0;
  key.prefixlen = FW_RULE_BITS_ANY_PORT;
  if (kinds & FW_RULES_HAVE_ANY_PORT) {
    if (const RuleEntry* rule = FindExact(rules, key)) return rule;
  }
  key.protocol = 0;
  key.prefixlen = FW_RULE_BITS_ANY_PROTOCOL;
  return (kinds & FW_RULES_HAVE_ANY_PROTOCOL) ? FindExact(rules, key) : nullptr;
}

PolicyVerdict Allow(PolicyVerdict verdict, fw_reason reason) {
  verdict.verdict = FW_VERDICT_ALLOW;
  verdict.reason = reason;
  return verdict;
}

}  // namespace

PolicyVerdict LookupPolicy(const MapImage& image, const FlowQuery& query) {
  PolicyVerdict verdict;

  // Step 1: the local endpoint; an address the agent does not manage is not policed.
  fw_endpoint_key endpoint_key{ToAbi(query.local)};
  const EndpointEntry* endpoint = FindExact(image.endpoints, endpoint_key);
  if (endpoint == nullptr) return Allow(verdict, FW_REASON_NO_ENDPOINT);
  verdict.local_identity = endpoint->value.identity;
  verdict.log_allowed = (endpoint->value.flags & FW_EP_LOG_ALLOWED) != 0;

  // Step 2: the remote identity and CIDR class: one IP-cache lookup for known addresses,
  // else WORLD and the longest fw_cidrs prefix.
  fw_ipcache_key ipcache_key{ToAbi(query.remote)};
  if (const IpcacheEntry* cached = FindExact(image.ipcache, ipcache_key)) {
    verdict.remote_identity = cached->value.identity;
    verdict.cidr_class = cached->value.cidr_class;
  } else {
    verdict.remote_identity = FW_IDENTITY_WORLD;
    fw_cidr_key cidr_key{};
    cidr_key.prefixlen = 128;
    cidr_key.addr = ToAbi(query.remote);
    const CidrEntry* cidr = FindLongestPrefix(image.cidrs, cidr_key);
    verdict.cidr_class = cidr != nullptr ? cidr->value.cidr_class : 0;
  }

  // Step 3: the pod's own node is always allowed.
  if (verdict.remote_identity == FW_IDENTITY_HOST) return Allow(verdict, FW_REASON_HOST);

  // Step 4: no policy isolates the pod in this direction.
  const __u8 isolated_flag =
      query.direction == FW_DIR_INGRESS ? FW_EP_ISOLATED_INGRESS : FW_EP_ISOLATED_EGRESS;
  if ((endpoint->value.flags & isolated_flag) == 0) return Allow(verdict, FW_REASON_NOT_ISOLATED);

  // Step 5: rule lookups, most specific remote kind first, each only if the ruleset has
  // rules of that kind in this direction.
  const __u8 kinds = endpoint->value.rule_kinds[query.direction];
  struct Remote {
    fw_rule_kind_mask present;
    fw_remote_kind kind;
    __u32 value;
    bool applies;
  };
  const Remote remotes[] = {
      {FW_RULES_HAVE_IDENTITY, FW_REMOTE_IDENTITY, verdict.remote_identity,
       verdict.remote_identity != FW_IDENTITY_WORLD},
      {FW_RULES_HAVE_CIDR, FW_REMOTE_CIDR, verdict.cidr_class, verdict.cidr_class != 0},
      {FW_RULES_HAVE_ANY, FW_REMOTE_ANY, 0, true},
  };
  for (const Remote& remote : remotes) {
    if ((kinds & remote.present) == 0 || !remote.applies) continue;
    fw_rule_key rule_key{};
    rule_key.prefixlen = FW_RULE_KEY_BITS;
    rule_key.ruleset = endpoint->value.ruleset;
    rule_key.direction = static_cast<__u8>(query.direction);
    rule_key.remote_kind = static_cast<__u8>(remote.kind);
    rule_key.remote = remote.value;
    rule_key.protocol = query.protocol;
    rule_key.port = htons(query.port);
    if (const RuleEntry* rule = FindRule(image.rules, rule_key, kinds)) {
      verdict.rule_id = rule->value.rule_id;
      verdict.log_allowed |= (rule->value.flags & FW_RULE_LOG_ALLOWED) != 0;
      return Allow(verdict, FW_REASON_RULE);
    }
  }

  // Step 6: isolated and nothing allowed it.
  verdict.verdict = FW_VERDICT_DENY;
  verdict.reason = FW_REASON_DEFAULT_DENY;
  return verdict;
}

FlowVerdict CheckFlow(const MapImage& image, const IpAddress& source,
                      const IpAddress& destination, uint8_t protocol, uint16_t port) {
  FlowVerdict flow;
  flow.egress = LookupPolicy(image, {source, destination, FW_DIR_EGRESS, protocol, port});
  flow.ingress = LookupPolicy(image, {destination, source, FW_DIR_INGRESS, protocol, port});
  flow.allowed =
      flow.egress.verdict == FW_VERDICT_ALLOW && flow.ingress.verdict == FW_VERDICT_ALLOW;
  return flow;
}

}  // namespace flatwall::compiler
