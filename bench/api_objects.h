// Realistic Kubernetes API objects (JSON as the API server returns them) for the api-watch
// benchmark: pods of Deployments with the fields kubelet and the controllers fill in
// (managedFields, ownerReferences, probes, env, volumes, conditions, container statuses:
// about 4 KB each, like a real pod), namespaces and NetworkPolicies applied with kubectl
// (with the last-applied-configuration annotation).
//
// Not here: the compiler's synthetic model objects (synthetic_cluster.h), serving them
// (tests/api-watch/testing/fake_kube_api.h).
#ifndef FLATWALL_BENCH_API_OBJECTS_H_
#define FLATWALL_BENCH_API_OBJECTS_H_

#include "nlohmann/json.hpp"

namespace flatwall::bench {

// Namespace "ns-<index>" with team/env labels.
nlohmann::json ApiNamespace(int index);
// Pod `index` of `namespaces` namespaces: a unique IPv4 address, one of 50 apps, one of 100
// nodes, two named container ports; with `unique_label`, also a label of its own (as a
// StatefulSet's pod-name label), so that no two pods share their label set.
nlohmann::json ApiPod(int index, int namespaces, bool unique_label = false);
// NetworkPolicy `index`: selects one app, allows ingress from another app and a namespace
// label on the app's named port, and egress to a CIDR with an exception.
nlohmann::json ApiNetworkPolicy(int index, int namespaces);

}  // namespace flatwall::bench

#endif  // FLATWALL_BENCH_API_OBJECTS_H_
