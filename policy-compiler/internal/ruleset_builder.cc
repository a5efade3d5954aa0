#include "policy-compiler/internal/ruleset_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "policy-compiler/annotations.h"
#include "policy-compiler/internal/recorded_table.h"
#include "policy-compiler/port_ranges.h"

namespace flatwall::compiler::internal {
namespace {

struct Remote {
  fw_remote_kind kind;
  uint32_t value;
};

// A rule key as a hash-map key: the struct has no padding, so its bytes are its identity.
struct SlotKey {
  fw_rule_key key;
  friend bool operator==(const SlotKey& a, const SlotKey& b) { return AbiEqual(a.key, b.key); }
  template <typename H>
  friend H AbslHashValue(H state, const SlotKey& slot) {
    return H::combine_contiguous(std::move(state),
                                 reinterpret_cast<const unsigned char*>(&slot.key),
                                 sizeof(slot.key));
  }
};

// What a rule matches of the traffic: any protocol, a whole protocol, or a port prefix.
struct Traffic {
  uint8_t protocol = 0;  // 0: any protocol (ICMP included)
  bool any_port = true;
  PortPrefix port;
};

// What one rule contributes to an entry: its id and its fw_rule_flags.
struct Attribution {
  uint32_t rule_id = 0;
  uint8_t flags = 0;
};

class Emitter {
 public:
  void Emit(fw_direction direction, const Remote& remote, const Traffic& traffic,
            const Attribution& rule) {
    fw_rule_key key{};
    key.direction = static_cast<__u8>(direction);
    key.remote_kind = static_cast<__u8>(remote.kind);
    key.remote = remote.value;
    if (traffic.protocol == 0) {
      key.prefixlen = FW_RULE_BITS_ANY_PROTOCOL;
    } else {
      key.protocol = traffic.protocol;
      if (traffic.any_port) {
        key.prefixlen = FW_RULE_BITS_ANY_PORT;
      } else {
        key.prefixlen = FW_RULE_BITS_ANY_PORT + traffic.port.bits;
        key.port = htons(traffic.port.port);
      }
    }
    auto [it, inserted] = slots_.try_emplace(SlotKey{key}, rule);
    if (!inserted) {
      // The lowest id names the entry; every contributing policy's logging request holds.
      it->second.rule_id = std::min(it->second.rule_id, rule.rule_id);
      it->second.flags |= rule.flags;
    }
  }

  RulesetContent Finish() {
    RulesetContent content;
    content.entries.reserve(slots_.size());
    for (const auto& [slot, rule] : slots_) {
      RuleEntry entry{};
      entry.key = slot.key;
      entry.value.rule_id = rule.rule_id;
      entry.value.action = FW_ACTION_ALLOW;
      entry.value.flags = rule.flags;
      content.entries.push_back(entry);
    }
    std::sort(content.entries.begin(), content.entries.end(),
              [](const RuleEntry& a, const RuleEntry& b) {
                return AbiLessThan<fw_rule_key>()(a.key, b.key);
              });
    return content;
  }

 private:
  absl::flat_hash_map<SlotKey, Attribution> slots_;
};

int CompareContents(const RulesetContent& a, const RulesetContent& b) {
  size_t common = std::min(a.entries.size(), b.entries.size());
  if (common > 0) {
    if (int c = std::memcmp(a.entries.data(), b.entries.data(), common * sizeof(RuleEntry))) {
      return c;
    }
  }
  return a.entries.size() < b.entries.size() ? -1 : a.entries.size() > b.entries.size() ? 1 : 0;
}

}  // namespace

static_assert(sizeof(RuleEntry) == sizeof(fw_rule_key) + sizeof(fw_rule_value),
              "RuleEntry must have no padding: contents are compared and hashed as bytes");

bool operator<(const RulesetContent& a, const RulesetContent& b) {
  return CompareContents(a, b) < 0;
}
bool operator==(const RulesetContent& a, const RulesetContent& b) {
  return CompareContents(a, b) == 0;
}

uint64_t HashRulesetContent(const RulesetContent& content) {
  StableHasher hasher;
  hasher.AddInt(content.entries.size());
  hasher.AddBytes(content.entries.data(), content.entries.size() * sizeof(RuleEntry));
  return hasher.Finish();
}

void RuleKinds(const RulesetContent& content, __u8 (&kinds)[FW_DIR_COUNT]) {
  kinds[FW_DIR_INGRESS] = kinds[FW_DIR_EGRESS] = 0;
  for (const RuleEntry& entry : content.entries) {
    kinds[entry.key.direction] |=
        static_cast<__u8>((1u << entry.key.remote_kind) | fw_rule_shape(entry.key.prefixlen));
  }
}

RulesetBuilder::RulesetBuilder(PeerResolver* resolver, const IdentityTable& identities,
                               const ContentIds<RuleRef>& rule_ids)
    : resolver_(resolver), identities_(identities), rule_ids_(rule_ids) {}

RulesetContent RulesetBuilder::Build(const IdentityKey& local, const Selection& selection) {
  static_assert(FW_RULES_HAVE_IDENTITY == 1 << FW_REMOTE_IDENTITY &&
                FW_RULES_HAVE_CIDR == 1 << FW_REMOTE_CIDR &&
                FW_RULES_HAVE_ANY == 1 << FW_REMOTE_ANY, "rule kind bit = 1 << remote kind");
  Emitter emitter;
  for (fw_direction direction : kDirections) {
    for (const NetworkPolicy* policy : selection.policies[direction]) {
      const std::vector<PolicyRule>& rules = EffectiveRules(*policy, direction);
      const uint8_t flags = LogsAllowedFlows(policy->annotations) ? FW_RULE_LOG_ALLOWED : 0;
      for (size_t index = 0; index < rules.size(); ++index) {
        const PolicyRule& rule = rules[index];
        const Attribution attribution = {
            rule_ids_.Find(
                {policy->namespace_name, policy->name, direction, static_cast<int>(index)}),
            flags};

        // Who: no peers means every peer, pods and external addresses alike.
        std::vector<Remote> remotes;
        if (rule.peers.empty()) remotes.push_back({FW_REMOTE_ANY, 0});
        for (const PolicyPeer& peer : rule.peers) {
          switch (KindOf(peer)) {
            case PeerKind::kIpBlock:
              for (uint32_t cidr_class : resolver_->Classes(*peer.ip_block)) {
                remotes.push_back({FW_REMOTE_CIDR, cidr_class});
              }
              break;
            case PeerKind::kSelectors:
              for (uint32_t identity : resolver_->Identities(policy->namespace_name, peer)) {
                remotes.push_back({FW_REMOTE_IDENTITY, identity});
              }
              break;
            case PeerKind::kNothing:
              break;
          }
        }

        // What: no ports means every protocol and port.
        if (rule.ports.empty()) {
          for (const Remote& remote : remotes) emitter.Emit(direction, remote, {}, attribution);
        }
        for (const PolicyPort& port : rule.ports) {
          const uint8_t protocol = static_cast<uint8_t>(port.protocol);
          if (!port.port.has_value()) {
            for (const Remote& remote : remotes) {
              emitter.Emit(direction, remote, {protocol, true, {}}, attribution);
            }
          } else if (const uint16_t* number = std::get_if<uint16_t>(&*port.port)) {
            for (const PortPrefix& prefix :
                 PortRangePrefixes(*number, port.end_port.value_or(*number))) {
              for (const Remote& remote : remotes) {
                emitter.Emit(direction, remote, {protocol, false, prefix}, attribution);
              }
            }
          } else if (direction == FW_DIR_INGRESS) {
            // The local pod's own port: same numbers whoever the peer is.
            for (uint16_t resolved :
                 ResolveNamedPort(local, std::get<std::string>(*port.port), port.protocol)) {
              for (const Remote& remote : remotes) {
                emitter.Emit(direction, remote, {protocol, false, {resolved, 16}}, attribution);
              }
            }
          } else {
            // The remote pod's port: resolve per remote pod identity.
            const std::string& name = std::get<std::string>(*port.port);
            std::vector<uint32_t> candidates;
            if (rule.peers.empty()) {
              candidates = identities_.WithNamedPort(name);
            }
            for (const PolicyPeer& peer : rule.peers) {
              const std::vector<uint32_t>* ids = nullptr;
              if (KindOf(peer) == PeerKind::kIpBlock) {
                ids = &resolver_->IdentitiesInside(*peer.ip_block);
              } else if (KindOf(peer) == PeerKind::kSelectors) {
                ids = &resolver_->Identities(policy->namespace_name, peer);
              }
              if (ids != nullptr) candidates.insert(candidates.end(), ids->begin(), ids->end());
            }
            for (uint32_t identity : candidates) {
              const IdentityKey* remote_key = identities_.KeyOf(identity);
              if (remote_key == nullptr) continue;
              for (uint16_t resolved : ResolveNamedPort(*remote_key, name, port.protocol)) {
                emitter.Emit(direction, {FW_REMOTE_IDENTITY, identity},
                             {protocol, false, {resolved, 16}}, attribution);
              }
            }
          }
        }
      }
    }
  }
  return emitter.Finish();
}

}  // namespace flatwall::compiler::internal
