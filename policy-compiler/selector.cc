#include "policy-compiler/selector.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace flatwall::compiler {
namespace {

bool HasValue(const LabelSelectorRequirement& requirement, absl::string_view value) {
  // Values are few; a linear scan does not rely on the decoder having sorted them.
  return std::find(requirement.values.begin(), requirement.values.end(), value) !=
         requirement.values.end();
}

// Length-prefixed, so no choice of label text can make two different selectors collide.
void AppendField(std::string* out, const std::string& field) {
  absl::StrAppend(out, field.size(), ":", field);
}

}  // namespace

bool RequirementMatches(const LabelSelectorRequirement& requirement, const LabelSet& labels) {
  auto it = labels.find(requirement.key);
  bool present = it != labels.end();
  switch (requirement.op) {
    case LabelSelectorRequirement::Operator::kIn:
      return present && HasValue(requirement, it->second);
    case LabelSelectorRequirement::Operator::kNotIn:
      return !present || !HasValue(requirement, it->second);
    case LabelSelectorRequirement::Operator::kExists:
      return present;
    case LabelSelectorRequirement::Operator::kDoesNotExist:
      return !present;
  }
  return false;
}

bool LabelsInclude(const LabelSet& labels, const Labels& wanted) {
  for (const auto& [key, value] : wanted) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

bool SelectorMatches(const LabelSelector& selector, const LabelSet& labels) {
  if (!LabelsInclude(labels, selector.match_labels)) return false;
  for (const LabelSelectorRequirement& requirement : selector.match_expressions) {
    if (!RequirementMatches(requirement, labels)) return false;
  }
  return true;
}

bool IsEmptySelector(const LabelSelector& selector) {
  return selector.match_labels.empty() && selector.match_expressions.empty();
}

std::string CanonicalSelectorText(const LabelSelector& selector) {
  std::string out = "L";
  for (const auto& [key, value] : selector.match_labels) {
    AppendField(&out, key);
    AppendField(&out, value);
  }
  std::vector<std::string> requirements;
  for (const LabelSelectorRequirement& requirement : selector.match_expressions) {
    std::string text = absl::StrCat(static_cast<int>(requirement.op));
    AppendField(&text, requirement.key);
    std::vector<std::string> values = requirement.values;
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (const std::string& value : values) AppendField(&text, value);
    requirements.push_back(absl::StrCat(text.size(), ":", text));
  }
  std::sort(requirements.begin(), requirements.end());
  requirements.erase(std::unique(requirements.begin(), requirements.end()), requirements.end());
  absl::StrAppend(&out, "E");
  for (const std::string& requirement : requirements) absl::StrAppend(&out, requirement);
  return out;
}

}  // namespace flatwall::compiler
