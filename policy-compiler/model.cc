#include "policy-compiler/model.h"

#include "absl/strings/str_cat.h"

namespace flatwall::compiler {

std::string ObjectKey(const ClusterObject& object) {
  return std::visit(
      [](const auto& typed) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(typed)>, Namespace>) {
          return typed.name;
        } else {
          return absl::StrCat(typed.namespace_name, "/", typed.name);
        }
      },
      object);
}

std::string_view ObjectKind(const ClusterObject& object) {
  static constexpr std::string_view kKinds[] = {"Namespace", "Pod", "Service", "NetworkPolicy"};
  return kKinds[object.index()];
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kSctp:
      return "SCTP";
  }
  return "?";
}

std::optional<Protocol> ParseProtocolName(std::string_view name) {
  for (Protocol protocol : {Protocol::kTcp, Protocol::kUdp, Protocol::kSctp}) {
    if (ProtocolName(protocol) == name) return protocol;
  }
  return std::nullopt;
}

}  // namespace flatwall::compiler
