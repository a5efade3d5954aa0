#include "policy-compiler/internal/json_fallback.h"

#include <cstdint>
#include <exception>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace flatwall::compiler::internal {
namespace {

// Far deeper than any Kubernetes object; bounds the recursion below.
constexpr int kMaxDepth = 200;

std::optional<uint32_t> Hex4(std::string_view text, size_t at) {
  if (at + 4 > text.size()) return std::nullopt;
  uint32_t value = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char c = text[i];
    int digit = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint32_t>(digit);
  }
  return value;
}

absl::StatusOr<YAML::Node> ToYaml(const nlohmann::json& value, int depth) {
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError(absl::StrCat("nested deeper than ", kMaxDepth, " levels"));
  }
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, member] : value.items()) {
        absl::StatusOr<YAML::Node> child = ToYaml(member, depth + 1);
        if (!child.ok()) return child.status();
        YAML::Node key_node(key);
        key_node.SetTag("!");
        map.force_insert(key_node, *child);
      }
      return map;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const nlohmann::json& item : value) {
        absl::StatusOr<YAML::Node> child = ToYaml(item, depth + 1);
        if (!child.ok()) return child.status();
        list.push_back(*child);
      }
      return list;
    }
    case nlohmann::json::value_t::string: {
      YAML::Node scalar(value.get_ref<const std::string&>());
      scalar.SetTag("!");
      return scalar;
    }
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return YAML::Node(YAML::NodeType::Null);
    default: {
      // Numbers and booleans: their JSON text, as a plain scalar.
      YAML::Node scalar(value.dump());
      scalar.SetTag("?");
      return scalar;
    }
  }
}

}  // namespace

bool LooksLikeJson(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    return c == '{' || c == '[';
  }
  return false;
}

std::optional<std::string> CombineSurrogatePairs(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  bool changed = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') in_string = !in_string;
    if (!in_string || c != '\\' || i + 1 >= json.size()) {
      out += c;
      continue;
    }
    // An escape: \uD8xx-\uDBxx followed by \uDCxx-\uDFxx is one code point.
    if (json[i + 1] == 'u' && i + 12 <= json.size() && json[i + 6] == '\\' && json[i + 7] == 'u') {
      std::optional<uint32_t> high = Hex4(json, i + 2);
      std::optional<uint32_t> low = Hex4(json, i + 8);
      if (high && low && *high >= 0xD800 && *high < 0xDC00 && *low >= 0xDC00 && *low < 0xE000) {
        uint32_t code_point = 0x10000 + ((*high - 0xD800) << 10) + (*low - 0xDC00);
        out += absl::StrFormat("\\U%08X", code_point);
        i += 11;
        changed = true;
        continue;
      }
    }
    // Copy the escape whole, so that \" and \\ do not end the string.
    out += c;
    out += json[++i];
  }
  if (!changed) return std::nullopt;
  return out;
}

absl::StatusOr<YAML::Node> ParseJsonToYaml(std::string_view json) {
  try {
    nlohmann::json parsed = nlohmann::json::parse(json.begin(), json.end());
    return ToYaml(parsed, 0);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

}  // namespace flatwall::compiler::internal
