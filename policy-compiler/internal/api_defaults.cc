#include "policy-compiler/internal/api_defaults.h"

#include "absl/strings/str_cat.h"

namespace flatwall::compiler::internal {

void DefaultPolicyTypes(size_t egress_rule_count, NetworkPolicy& policy) {
  policy.affects_ingress = true;
  policy.affects_egress = egress_rule_count > 0;
}

absl::Status CheckIpBlockExcept(const IpPrefix& cidr, const IpPrefix& except) {
  if (except.is_v4() != cidr.is_v4()) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be in the same address family as cidr ", cidr.ToString()));
  }
  if (!cidr.Contains(except) || except.length() <= cidr.length()) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be a strict subset of cidr ", cidr.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace flatwall::compiler::internal
