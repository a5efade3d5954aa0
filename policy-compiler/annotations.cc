#include "policy-compiler/annotations.h"

namespace flatwall::compiler {

bool IsFlatwallAnnotation(std::string_view key) { return key == kLogAllowedAnnotation; }

absl::Status ValidateAnnotation(std::string_view key, std::string_view value) {
  // Exact spellings only: kubectl annotate stores any string, and a typo such as "True" or
  // "yes" silently meaning "off" would hide flows an auditor asked to see.
  if (key == kLogAllowedAnnotation && value != "true" && value != "false") {
    return absl::InvalidArgumentError("must be \"true\" or \"false\"");
  }
  return absl::OkStatus();
}

bool LogsAllowedFlows(const std::map<std::string, std::string>& annotations) {
  auto it = annotations.find(kLogAllowedAnnotation);
  return it != annotations.end() && it->second == "true";
}

}  // namespace flatwall::compiler
