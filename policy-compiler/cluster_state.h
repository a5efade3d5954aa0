// The cluster as the compiler sees it: namespaces, pods, services and network policies by
// key, changed one event at a time. Both sources — the API watch and a directory of
// manifests — produce these events, so everything downstream is identical for both.
//
// Not here: decoding objects (manifest_decoder.h), compiling them (compiler.h).
#ifndef FLATWALL_POLICY_COMPILER_CLUSTER_STATE_H_
#define FLATWALL_POLICY_COMPILER_CLUSTER_STATE_H_

#include <map>
#include <string>
#include <vector>

#include "policy-compiler/model.h"

namespace flatwall::compiler {

// The label every namespace carries with its own name (set by the API server).
inline constexpr char kNamespaceNameLabel[] = "kubernetes.io/metadata.name";

struct ClusterEvent {
  enum Kind { kUpsert, kDelete };
  Kind kind = kUpsert;
  // For kDelete only the kind (variant alternative), namespace and name matter.
  ClusterObject object;
};

// Events in order, in the batches they arrived in (an API list hands over one per page):
// the first state of a 100k-pod cluster is queued and applied without ever being gathered
// into one array, which would hold every object twice while it grows or is copied.
using EventBatches = std::vector<std::vector<ClusterEvent>>;

class ClusterState {
 public:
  // Inserts or replaces the object with the event's key, or removes it (deleting a missing
  // object is a no-op, as a repeated watch event would be). By value: a caller that moves
  // its events in (the agent's first sync of 100k pods) never holds two copies.
  void Apply(ClusterEvent event);
  // Applies the batches in order, freeing each batch as soon as its events are applied
  // (the agent's first sync: the events' shells are never all held beside the state).
  void Apply(EventBatches batches);

  const Pod* FindPod(const std::string& key) const;  // key "namespace/name"

  // Keyed by ObjectKey ("name" for namespaces, "namespace/name" otherwise).
  const std::map<std::string, Namespace>& namespaces() const { return namespaces_; }
  const std::map<std::string, Pod>& pods() const { return pods_; }
  const std::map<std::string, Service>& services() const { return services_; }
  const std::map<std::string, NetworkPolicy>& policies() const { return policies_; }

  // Every pod, sorted by key.
  std::vector<const Pod*> AllPods() const;
  // The pods / policies of one namespace, sorted by name.
  std::vector<const Pod*> PodsInNamespace(const std::string& namespace_name) const;
  std::vector<const NetworkPolicy*> PoliciesInNamespace(const std::string& namespace_name) const;

  // The labels a namespace selector sees for `namespace_name`: the namespace object's, or
  // only kubernetes.io/metadata.name=<name> while the object is absent. The name label is
  // always present (it is added if an object lacks it).
  LabelSet NamespaceLabels(const std::string& namespace_name) const;

 private:
  std::map<std::string, Namespace> namespaces_;
  std::map<std::string, Pod> pods_;
  std::map<std::string, Service> services_;
  std::map<std::string, NetworkPolicy> policies_;
};

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_CLUSTER_STATE_H_
