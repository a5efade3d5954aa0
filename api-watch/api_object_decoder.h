// Decoding Kubernetes API objects, as the API server returns them in JSON (list items and
// watch event objects), straight into the compiler's compact model: v1 Namespace, Pod and
// Service and networking.k8s.io/v1 NetworkPolicy. Only the fields the model holds are
// read; the rest (managedFields, most of a pod's spec and status) is skipped unread.
//
// The API server has validated these objects already, so this is not a second validator:
// it checks types and the invariants the compiler relies on, so that garbage on the wire
// becomes an error instead of a wrong policy. Defaulting that must agree with the manifest
// decoder (protocol TCP, policyTypes, the namespace name label, ipBlock CIDRs with host
// bits) uses the same policy-compiler helpers.
//
// Not here: the wire protocol (watch_stream.h), YAML manifests
// (policy-compiler/manifest_decoder.h, which is far slower and meant for files).
#ifndef FLATWALL_API_WATCH_API_OBJECT_DECODER_H_
#define FLATWALL_API_WATCH_API_OBJECT_DECODER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/model.h"

namespace flatwall::apiwatch {

// The resources Flatwall lists and watches.
enum class ResourceKind { kNamespace, kPod, kService, kNetworkPolicy };

// "Namespace", "Pod", "Service", "NetworkPolicy".
std::string_view KindName(ResourceKind kind);
// The all-namespaces collection path: "/api/v1/pods",
// "/apis/networking.k8s.io/v1/networkpolicies", ...
std::string_view CollectionPath(ResourceKind kind);

// Decodes one object of `kind`. An object that carries "kind" must carry this one (list
// items usually omit it). The model's `source` stays empty: the kind and key say where an
// API object is, and a path string per object was ~80 bytes of each pod in memory.
// InvalidArgument naming the kind, the object ("Pod default/web" when its metadata could
// be read) and the JSON field path:
//   Pod default/web: spec.containers[0].ports[1].containerPort: must be an integer, got "80"
absl::StatusOr<compiler::ClusterObject> DecodeApiObject(ResourceKind kind,
                                                        const nlohmann::json& object);

// Only the identity of an object of `kind` (name, namespace, uid; everything else empty):
// enough for a delete event when the rest of the object does not decode.
// InvalidArgument when metadata.name (or, for namespaced kinds, metadata.namespace) is
// missing or not a string.
absl::StatusOr<compiler::ClusterObject> DecodeApiObjectIdentity(ResourceKind kind,
                                                                const nlohmann::json& object);

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_API_OBJECT_DECODER_H_
