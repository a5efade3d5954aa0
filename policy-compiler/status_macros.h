// FW_RETURN_IF_ERROR / FW_ASSIGN_OR_RETURN: abseil 20220623 ships no such macros.
#ifndef FLATWALL_POLICY_COMPILER_STATUS_MACROS_H_
#define FLATWALL_POLICY_COMPILER_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FW_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    if (absl::Status fw_status_ = (expr); !fw_status_.ok()) return fw_status_; \
  } while (0)

#define FW_STATUS_CONCAT_INNER_(a, b) a##b
#define FW_STATUS_CONCAT_(a, b) FW_STATUS_CONCAT_INNER_(a, b)

// FW_ASSIGN_OR_RETURN(auto value, ComputeStatusOr()); declares or assigns `value`.
#define FW_ASSIGN_OR_RETURN(lhs, expr) \
  FW_ASSIGN_OR_RETURN_IMPL_(FW_STATUS_CONCAT_(fw_status_or_, __LINE__), lhs, expr)
#define FW_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, expr) \
  auto status_or = (expr);                              \
  if (!status_or.ok()) return std::move(status_or).status(); \
  lhs = std::move(status_or).value()

#endif  // FLATWALL_POLICY_COMPILER_STATUS_MACROS_H_
