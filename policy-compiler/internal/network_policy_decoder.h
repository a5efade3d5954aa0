// The decoder for networking.k8s.io/v1 NetworkPolicy: every field of the API, with the
// API server's defaulting (protocol TCP, policyTypes) and validation
// (pkg/apis/networking/validation), plus strict field validation: an unknown field at any
// depth of the object is an error, as a misspelt field in a policy silently widens or
// narrows what it allows.
//
// Not here: apiVersion/kind dispatch (manifest_decoder.cc), the shared pieces (selectors,
// ports, metadata: meta_fields.h).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_NETWORK_POLICY_DECODER_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_NETWORK_POLICY_DECODER_H_

#include "policy-compiler/internal/yaml_reader.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

// Decodes the NetworkPolicy at `root`, whose apiVersion and kind the caller has checked
// and read from `object`. Errors go to root's document context; the caller drops the
// policy when any were added.
NetworkPolicy DecodeNetworkPolicy(const Field& root, MapReader& object);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_NETWORK_POLICY_DECODER_H_
