#include "api-watch/object_digest.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace flatwall::apiwatch {
namespace {

// Writes an object as a self-delimiting byte string (every variable-length part is
// prefixed with its size, every optional and variant with its state), so that two
// different objects never give the same bytes; the digest is a hash of those bytes.
// Members of one class, so that the overloads see each other whatever their order.
class CanonicalWriter {
 public:
  std::string_view bytes() const { return bytes_; }

  template <typename T>
    requires std::is_integral_v<T> || std::is_enum_v<T>
  void Add(T value) {
    uint64_t wide = static_cast<uint64_t>(value);
    bytes_.append(reinterpret_cast<const char*>(&wide), sizeof(wide));
  }
  void Add(absl::string_view text) {
    Add(text.size());
    bytes_.append(text.data(), text.size());
  }
  void Add(const compiler::IpAddress& address) {
    bytes_.append(reinterpret_cast<const char*>(address.bytes().data()), address.bytes().size());
  }
  void Add(const compiler::IpPrefix& prefix) {
    Add(prefix.address());
    Add(prefix.length());
  }
  template <typename T>
  void Add(const std::vector<T>& values) {
    Add(values.size());
    for (const T& value : values) Add(value);
  }
  template <typename K, typename V>
  void Add(const std::map<K, V>& map) {
    AddPairs(map);
  }
  void Add(const compiler::LabelSet& labels) { AddPairs(labels); }
  template <typename T>
  void Add(const std::optional<T>& value) {
    Add(value.has_value());
    if (value) Add(*value);
  }
  template <typename... T>
  void Add(const std::variant<T...>& value) {
    Add(value.index());
    std::visit([this](const auto& alternative) { Add(alternative); }, value);
  }

  // The model's structs. Each structured binding names every field: adding a field to
  // the model stops this from compiling until the field is written here too.
  void Add(const compiler::SourceLocation& location) {
    const auto& [file, line] = location;
    AddAll(file, line);
  }
  void Add(const compiler::LabelSelectorRequirement& requirement) {
    const auto& [key, op, values] = requirement;
    AddAll(key, op, values);
  }
  void Add(const compiler::LabelSelector& selector) {
    const auto& [match_labels, match_expressions] = selector;
    AddAll(match_labels, match_expressions);
  }
  void Add(const compiler::Namespace& ns) {
    const auto& [name, uid, labels, annotations, source] = ns;
    AddAll(name, uid, labels, annotations, source);
  }
  void Add(const compiler::ContainerPort& port) {
    const auto& [name, number, protocol] = port;
    AddAll(name, number, protocol);
  }
  void Add(const compiler::Pod& pod) {
    const auto& [namespace_name, name, uid, labels, node_name, host_network, ports, ips, source] =
        pod;
    AddAll(namespace_name, name, uid, labels, node_name, host_network, ports, ips, source);
  }
  void Add(const compiler::ServicePort& port) {
    const auto& [name, protocol, number, target_port] = port;
    AddAll(name, protocol, number, target_port);
  }
  void Add(const compiler::Service& service) {
    const auto& [namespace_name, name, cluster_ips, selector, ports, source] = service;
    AddAll(namespace_name, name, cluster_ips, selector, ports, source);
  }
  void Add(const compiler::IpBlock& block) {
    const auto& [cidr, except] = block;
    AddAll(cidr, except);
  }
  void Add(const compiler::PolicyPeer& peer) {
    const auto& [pod_selector, namespace_selector, ip_block] = peer;
    AddAll(pod_selector, namespace_selector, ip_block);
  }
  void Add(const compiler::PolicyPort& port) {
    const auto& [protocol, number, end_port] = port;
    AddAll(protocol, number, end_port);
  }
  void Add(const compiler::PolicyRule& rule) {
    const auto& [peers, ports] = rule;
    AddAll(peers, ports);
  }
  void Add(const compiler::NetworkPolicy& policy) {
    const auto& [namespace_name, name, uid, generation, pod_selector, affects_ingress,
                 affects_egress, ingress, egress, annotations, source] = policy;
    AddAll(namespace_name, name, uid, generation, pod_selector, affects_ingress, affects_egress,
           ingress, egress, annotations, source);
  }

 private:
  // A map or label set: the count, then each key and value, in key order.
  template <typename Map>
  void AddPairs(const Map& map) {
    Add(map.size());
    for (const auto& [key, value] : map) {
      Add(key);
      Add(value);
    }
  }

  template <typename... Fields>
  void AddAll(const Fields&... fields) {
    (Add(fields), ...);
  }

  std::string bytes_;
};

}  // namespace

uint64_t ObjectDigest(const compiler::ClusterObject& object) {
  CanonicalWriter writer;
  writer.Add(object);
  // libstdc++'s string hash is MurmurHash64A: well mixed over all 64 bits.
  return std::hash<std::string_view>{}(writer.bytes());
}

}  // namespace flatwall::apiwatch
