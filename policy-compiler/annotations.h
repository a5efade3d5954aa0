// The annotations Flatwall reads on Kubernetes objects, their accepted values, and what
// they mean to the compiler. Today one: flatwall.io/log-allowed, on a Namespace (log the
// allowed new flows of its pods) or on a NetworkPolicy (log the new flows its rules allow).
//
// Not here: reading annotations from YAML or JSON (the decoders call ValidateAnnotation),
// what the datapath does with the resulting flags (docs/verdict-log.md).
#ifndef FLATWALL_POLICY_COMPILER_ANNOTATIONS_H_
#define FLATWALL_POLICY_COMPILER_ANNOTATIONS_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace flatwall::compiler {

// "true" or "false"; absent means "false".
inline constexpr char kLogAllowedAnnotation[] = "flatwall.io/log-allowed";

// Whether Flatwall gives `key` a meaning (decoders that keep only what the compiler uses
// keep exactly these annotations).
bool IsFlatwallAnnotation(std::string_view key);

// OK for any key Flatwall does not read, and for an accepted value of one it reads;
// InvalidArgument naming the accepted values otherwise (the decoders add file, line and
// field).
absl::Status ValidateAnnotation(std::string_view key, std::string_view value);

// Whether `annotations` hold flatwall.io/log-allowed: "true". Validated input holds no
// other value than "true" or "false"; anything else counts as "false".
bool LogsAllowedFlows(const std::map<std::string, std::string>& annotations);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_ANNOTATIONS_H_
