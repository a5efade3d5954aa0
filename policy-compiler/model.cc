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

}  // namespace flatwall::compiler
