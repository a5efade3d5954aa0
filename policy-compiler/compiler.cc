#include "policy-compiler/compiler.h"

#include <type_traits>
#include <utility>

#include "policy-compiler/internal/compilation.h"

namespace flatwall::compiler {
namespace {

// The stored object of the event's kind and key, before the event changes it.
std::optional<ClusterObject> StoredObject(const ClusterState& state, const ClusterObject& object) {
  const std::string key = ObjectKey(object);
  return std::visit(
      [&](const auto& typed) -> std::optional<ClusterObject> {
        using T = std::decay_t<decltype(typed)>;
        const std::map<std::string, T>* objects;
        if constexpr (std::is_same_v<T, Namespace>) {
          objects = &state.namespaces();
        } else if constexpr (std::is_same_v<T, Pod>) {
          objects = &state.pods();
        } else if constexpr (std::is_same_v<T, Service>) {
          objects = &state.services();
        } else {
          objects = &state.policies();
        }
        auto it = objects->find(key);
        if (it == objects->end()) return std::nullopt;
        return ClusterObject(it->second);
      },
      object);
}

}  // namespace

MapImage Compile(const ClusterState& state, const CompileOptions& options) {
  internal::Compilation compilation(options);
  compilation.Rebuild(state);
  return compilation.Materialize(state);
}

IncrementalCompiler::IncrementalCompiler(CompileOptions options)
    : IncrementalCompiler(std::move(options), ClusterState()) {}

IncrementalCompiler::IncrementalCompiler(CompileOptions options, ClusterState initial)
    : state_(std::move(initial)),
      compilation_(std::make_unique<internal::Compilation>(std::move(options))) {
  compilation_->Rebuild(state_);
}

IncrementalCompiler::~IncrementalCompiler() = default;

MapDiff IncrementalCompiler::Apply(const ClusterEvent& event) {
  // Only a replaced or deleted policy needs its previous version (to drop its references);
  // copying other kinds would cost a pod copy per event for nothing.
  std::optional<ClusterObject> before;
  if (std::holds_alternative<NetworkPolicy>(event.object)) {
    before = StoredObject(state_, event.object);
  }
  state_.Apply(event);
  image_.reset();
  return compilation_->Apply(state_, event, before ? &*before : nullptr);
}

const MapImage& IncrementalCompiler::image() const {
  if (!image_.has_value()) image_ = compilation_->Materialize(state_);
  return *image_;
}

}  // namespace flatwall::compiler
