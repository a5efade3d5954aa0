// Decoders for the core/v1 kinds Flatwall reads: Namespace, Pod and Service. They read
// only the fields the model holds (validating those as the API server does) and ignore
// the rest, since these objects usually come straight from `kubectl get` with dozens of
// fields Flatwall has no use for.
//
// Not here: apiVersion/kind dispatch and List handling (manifest_decoder.cc),
// NetworkPolicy (network_policy_decoder.h).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_CORE_V1_DECODERS_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_CORE_V1_DECODERS_H_

#include "policy-compiler/internal/yaml_reader.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

// Each decodes the object at `root` (whose apiVersion and kind the caller has checked and
// read from `object`). Errors go to root's document context; the caller drops the object
// when any were added.
Namespace DecodeNamespace(const Field& root, MapReader& object);
Pod DecodePod(const Field& root, MapReader& object);
Service DecodeService(const Field& root, MapReader& object);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_CORE_V1_DECODERS_H_
