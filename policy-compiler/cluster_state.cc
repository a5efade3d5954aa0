#include "policy-compiler/cluster_state.h"

#include <type_traits>
#include <utility>

namespace flatwall::compiler {
namespace {

// The objects of one namespace: keys "<namespace>/..." sort together, and '0' follows '/',
// so they are exactly the keys in ["<namespace>/", "<namespace>0").
template <typename T>
std::vector<const T*> InNamespace(const std::map<std::string, T>& objects,
                                  const std::string& namespace_name) {
  std::vector<const T*> found;
  auto end = objects.lower_bound(namespace_name + "0");
  for (auto it = objects.lower_bound(namespace_name + "/"); it != end; ++it) {
    found.push_back(&it->second);
  }
  return found;
}

}  // namespace

void ClusterState::Apply(EventBatches batches) {
  for (std::vector<ClusterEvent>& batch : batches) {
    for (ClusterEvent& event : batch) Apply(std::move(event));
    std::vector<ClusterEvent>().swap(batch);  // `batch = {}` would keep the capacity
  }
}

void ClusterState::Apply(ClusterEvent event) {
  std::string key = ObjectKey(event.object);
  std::visit(
      [&](auto& object) {
        using T = std::decay_t<decltype(object)>;
        std::map<std::string, T>* objects;
        if constexpr (std::is_same_v<T, Namespace>) {
          objects = &namespaces_;
        } else if constexpr (std::is_same_v<T, Pod>) {
          objects = &pods_;
        } else if constexpr (std::is_same_v<T, Service>) {
          objects = &services_;
        } else {
          objects = &policies_;
        }
        if (event.kind == ClusterEvent::kDelete) {
          objects->erase(key);
        } else {
          (*objects)[key] = std::move(object);
        }
      },
      event.object);
}

const Pod* ClusterState::FindPod(const std::string& key) const {
  auto it = pods_.find(key);
  return it == pods_.end() ? nullptr : &it->second;
}

std::vector<const Pod*> ClusterState::AllPods() const {
  std::vector<const Pod*> all;
  all.reserve(pods_.size());
  for (const auto& [key, pod] : pods_) all.push_back(&pod);
  return all;
}

std::vector<const Pod*> ClusterState::PodsInNamespace(const std::string& namespace_name) const {
  return InNamespace(pods_, namespace_name);
}

std::vector<const NetworkPolicy*> ClusterState::PoliciesInNamespace(
    const std::string& namespace_name) const {
  return InNamespace(policies_, namespace_name);
}

LabelSet ClusterState::NamespaceLabels(const std::string& namespace_name) const {
  auto it = namespaces_.find(namespace_name);
  if (it != namespaces_.end()) {
    auto name = it->second.labels.find(kNamespaceNameLabel);
    if (name != it->second.labels.end() && name->second == namespace_name) {
      return it->second.labels;
    }
  }
  Labels labels = it != namespaces_.end() ? it->second.labels.ToMap() : Labels();
  labels[kNamespaceNameLabel] = namespace_name;
  return labels;
}

}  // namespace flatwall::compiler
