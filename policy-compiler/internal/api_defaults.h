// The API server's defaulting and cross-field checks of NetworkPolicy that every decoder of
// API objects must apply identically: the YAML/JSON manifest decoder
// (network_policy_decoder.h) and the Kubernetes watch's JSON decoder
// (api-watch/api_object_decoder.h). One definition, so the two sources cannot disagree on
// what a policy means.
//
// Not here: field-level readers (meta_fields.h), name grammars (name_validation.h).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_API_DEFAULTS_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_API_DEFAULTS_H_

#include "absl/status/status.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

// SetDefaults_NetworkPolicy, for a policy whose spec.policyTypes has no entries (absent,
// null and `[]` alike): Ingress always, Egress only when spec.egress has at least one rule
// (`egress_rule_count` counts null rules too). An explicit `policyTypes: []` therefore does
// not mean "affects nothing".
void DefaultPolicyTypes(size_t egress_rule_count, NetworkPolicy& policy);

// Whether `except` may appear in the except list of an ipBlock with `cidr`: same address
// family and strictly inside it. InvalidArgument whose message says why not (without the
// field path, which the caller adds).
absl::Status CheckIpBlockExcept(const IpPrefix& cidr, const IpPrefix& except);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_API_DEFAULTS_H_
