#include "tests/api-watch/testing/yaml_to_json.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "policy-compiler/internal/yaml_documents.h"
#include "policy-compiler/internal/yaml_reader.h"

namespace flatwall::apiwatch::testing {
namespace {

using ::flatwall::compiler::internal::KindOf;
using ::flatwall::compiler::internal::ScalarKind;
using ::nlohmann::json;

// YAML 1.1 integers: sign, '_' separators, 0x / 0o / 0b / leading-0 octal.
json IntegerOf(const std::string& text) {
  std::string digits = text;
  digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
  bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.erase(0, 1);
  int base = 10;
  if (digits.starts_with("0x")) {
    base = 16;
    digits.erase(0, 2);
  } else if (digits.starts_with("0o") || digits.starts_with("0b")) {
    base = digits[1] == 'o' ? 8 : 2;
    digits.erase(0, 2);
  } else if (digits.size() > 1 && digits.front() == '0') {
    base = 8;
  }
  char* end = nullptr;
  long long value = std::strtoll(digits.c_str(), &end, base);
  if (end == digits.c_str() || *end != '\0') return text;  // out of range: keep the text
  return negative ? -value : value;
}

json ScalarOf(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  switch (KindOf(node)) {
    case ScalarKind::kNull:
      return nullptr;
    case ScalarKind::kBool: {
      std::string lower = absl::AsciiStrToLower(text);
      return lower == "y" || lower == "yes" || lower == "true" || lower == "on";
    }
    case ScalarKind::kInt:
      return IntegerOf(text);
    case ScalarKind::kFloat: {
      double value = 0;
      if (absl::SimpleAtod(text, &value)) return value;
      return text;
    }
    case ScalarKind::kString:
      return text;
  }
  return text;
}

json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) object[entry.first.Scalar()] = ToJson(entry.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      json list = json::array();
      for (const auto& item : node) list.push_back(ToJson(item));
      return list;
    }
    case YAML::NodeType::Scalar:
      return ScalarOf(node);
    default:
      return nullptr;
  }
}

}  // namespace

absl::StatusOr<std::vector<json>> ManifestsToJson(std::string_view yaml_text) {
  std::vector<json> objects;
  for (const compiler::internal::DocumentChunk& chunk :
       compiler::internal::SplitDocuments(yaml_text)) {
    compiler::internal::ParsedChunk parsed = compiler::internal::ParseChunk(chunk);
    if (parsed.syntax_error) {
      return absl::InvalidArgumentError(absl::StrCat("line ", parsed.syntax_error->line, ": ",
                                                     parsed.syntax_error->message));
    }
    for (const YAML::Node& document : parsed.documents) {
      if (!document.IsDefined() || document.IsNull()) continue;
      if (!document.IsMap()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", parsed.content_line, ": a manifest must be a mapping"));
      }
      objects.push_back(ToJson(document));
    }
  }
  return objects;
}

}  // namespace flatwall::apiwatch::testing
