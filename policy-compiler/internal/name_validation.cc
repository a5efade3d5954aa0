#include "policy-compiler/internal/name_validation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace flatwall::compiler::internal {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

bool MatchesDns1123Label(std::string_view value) {
  if (value.empty() || !IsLowerAlnum(value.front()) || !IsLowerAlnum(value.back())) {
    return false;
  }
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

// The shared shape of qualified-name parts and label values.
bool MatchesLabelToken(std::string_view value) {
  if (value.empty() || !IsAlnum(value.front()) || !IsAlnum(value.back())) return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

absl::Status ValidateDns1123Label(std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("must not be empty");
  if (value.size() > 63) {
    return absl::InvalidArgumentError("must be no more than 63 characters");
  }
  if (!MatchesDns1123Label(value)) {
    return absl::InvalidArgumentError(
        "must consist of lowercase alphanumeric characters or '-', and must start and end "
        "with an alphanumeric character");
  }
  return absl::OkStatus();
}

absl::Status ValidateDns1123Subdomain(std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("must not be empty");
  if (value.size() > 253) {
    return absl::InvalidArgumentError("must be no more than 253 characters");
  }
  // Upstream's regex is label('.'label)* with no per-label length limit; so is this.
  size_t start = 0;
  while (true) {
    size_t dot = value.find('.', start);
    std::string_view label =
        value.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!MatchesDns1123Label(label)) {
      return absl::InvalidArgumentError(
          "must consist of lowercase alphanumeric characters, '-' or '.', and must start and "
          "end with an alphanumeric character");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return absl::OkStatus();
}

absl::Status ValidateDns1035Label(std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("must not be empty");
  if (value.size() > 63) {
    return absl::InvalidArgumentError("must be no more than 63 characters");
  }
  if (!MatchesDns1123Label(value) || !(value.front() >= 'a' && value.front() <= 'z')) {
    return absl::InvalidArgumentError(
        "must consist of lowercase alphanumeric characters or '-', start with a letter and "
        "end with an alphanumeric character");
  }
  return absl::OkStatus();
}

absl::Status ValidateQualifiedName(std::string_view value) {
  std::string_view name = value;
  size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (name.find('/') != std::string_view::npos) {
      return absl::InvalidArgumentError(
          "must be a name with an optional DNS subdomain prefix and '/' (e.g. "
          "'example.com/MyName')");
    }
    if (prefix.empty()) return absl::InvalidArgumentError("prefix part must not be empty");
    if (absl::Status status = ValidateDns1123Subdomain(prefix); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("prefix part ", status.message()));
    }
  }
  if (name.empty()) return absl::InvalidArgumentError("name part must not be empty");
  if (name.size() > 63) {
    return absl::InvalidArgumentError("name part must be no more than 63 characters");
  }
  if (!MatchesLabelToken(name)) {
    return absl::InvalidArgumentError(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
        "and end with an alphanumeric character");
  }
  return absl::OkStatus();
}

absl::Status ValidateLabelValue(std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (value.size() > 63) {
    return absl::InvalidArgumentError("must be no more than 63 characters");
  }
  if (!MatchesLabelToken(value)) {
    return absl::InvalidArgumentError(
        "must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start "
        "and end with an alphanumeric character");
  }
  return absl::OkStatus();
}

absl::Status ValidatePortName(std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("must not be empty");
  if (value.size() > 15) {
    return absl::InvalidArgumentError("must be no more than 15 characters");
  }
  if (!std::all_of(value.begin(), value.end(),
                   [](char c) { return IsLowerAlnum(c) || c == '-'; })) {
    return absl::InvalidArgumentError(
        "must contain only lowercase letters (a-z), digits (0-9) and '-'");
  }
  if (std::none_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    return absl::InvalidArgumentError("must contain at least one letter (a-z)");
  }
  if (value.front() == '-' || value.back() == '-') {
    return absl::InvalidArgumentError("must not begin or end with '-'");
  }
  if (value.find("--") != std::string_view::npos) {
    return absl::InvalidArgumentError("must not contain consecutive '-'");
  }
  return absl::OkStatus();
}

}  // namespace flatwall::compiler::internal
