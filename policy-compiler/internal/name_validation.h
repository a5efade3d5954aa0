// The Kubernetes name grammars the manifest decoder checks: DNS-1123 labels and subdomains,
// DNS-1035 labels, qualified names (label and annotation keys), label values and
// IANA_SVC_NAME port names, with the length limits of apimachinery's validation package.
//
// Each function returns OK or InvalidArgument whose message says what is wrong, without
// repeating the value (the caller adds it with the field path).
//
// Not here: which field uses which grammar (meta_fields.h and the object decoders).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_NAME_VALIDATION_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_NAME_VALIDATION_H_

#include <string_view>

#include "absl/status/status.h"

namespace flatwall::compiler::internal {

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters (namespace names).
absl::Status ValidateDns1123Label(std::string_view value);
// DNS-1123 labels joined by '.', at most 253 characters (pod and policy names).
absl::Status ValidateDns1123Subdomain(std::string_view value);
// [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters (service names).
absl::Status ValidateDns1035Label(std::string_view value);
// An optional DNS-1123 subdomain prefix and '/', then a name of at most 63 characters
// matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] (label and annotation keys).
absl::Status ValidateQualifiedName(std::string_view value);
// Empty, or at most 63 characters matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
absl::Status ValidateLabelValue(std::string_view value);
// IANA_SVC_NAME (RFC 6335): 1-15 characters of [a-z0-9-], at least one letter, no
// leading, trailing or doubled '-' (named container ports).
absl::Status ValidatePortName(std::string_view value);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_NAME_VALIDATION_H_
