#include "policy-compiler/internal/yaml_reader.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flatwall::compiler::internal {
namespace {

constexpr size_t kMaxQuotedLength = 64;

bool IsDigits(std::string_view text, std::string_view alphabet) {
  return !text.empty() && text.find_first_not_of(alphabet) == std::string_view::npos;
}

// go-yaml v2's resolve(): YAML 1.1 booleans and nulls, then integers as strconv.ParseInt
// with base 0 reads them (after dropping '_'), then floats.
ScalarKind ResolvePlain(std::string_view text) {
  static constexpr std::array<std::string_view, 22> kBools = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "n",  "N",  "no", "No",  "NO",  "true",
      "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"};
  static constexpr std::array<std::string_view, 5> kNulls = {"", "~", "null", "Null", "NULL"};
  static constexpr std::array<std::string_view, 12> kSpecialFloats = {
      ".nan",  ".NaN",  ".NAN",  ".inf",  ".Inf",  ".INF",
      "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};
  auto in = [text](const auto& table) {
    return std::find(table.begin(), table.end(), text) != table.end();
  };
  if (in(kBools)) return ScalarKind::kBool;
  if (in(kNulls)) return ScalarKind::kNull;
  if (in(kSpecialFloats)) return ScalarKind::kFloat;

  std::string plain(text);
  plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
  std::string_view digits = plain;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    digits.remove_prefix(1);
  }
  if ((digits.starts_with("0x") && IsDigits(digits.substr(2), "0123456789abcdefABCDEF")) ||
      (digits.starts_with("0o") && IsDigits(digits.substr(2), "01234567")) ||
      (digits.starts_with("0b") && IsDigits(digits.substr(2), "01")) ||
      (digits.size() > 1 && digits.front() == '0' && IsDigits(digits, "01234567")) ||
      IsDigits(digits, "0123456789")) {
    return ScalarKind::kInt;
  }
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::string_view rest = digits;
  size_t mantissa_digits = 0;
  while (!rest.empty() && absl::ascii_isdigit(rest.front())) {
    rest.remove_prefix(1);
    ++mantissa_digits;
  }
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    size_t fraction_digits = 0;
    while (!rest.empty() && absl::ascii_isdigit(rest.front())) {
      rest.remove_prefix(1);
      ++fraction_digits;
    }
    if (mantissa_digits == 0 && fraction_digits == 0) return ScalarKind::kString;
    mantissa_digits += fraction_digits;
  }
  if (mantissa_digits == 0) return ScalarKind::kString;
  if (!rest.empty() && (rest.front() == 'e' || rest.front() == 'E')) {
    rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) rest.remove_prefix(1);
    if (!IsDigits(rest, "0123456789")) return ScalarKind::kString;
    rest = {};
  }
  return rest.empty() ? ScalarKind::kFloat : ScalarKind::kString;
}

// "a map", "a string \"x\"", "a boolean (yes)", ...
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      break;
    default:
      return "null";
  }
  switch (KindOf(node)) {
    case ScalarKind::kBool:
      return absl::StrCat("a boolean (", Quote(node.Scalar()), ")");
    case ScalarKind::kInt:
    case ScalarKind::kFloat:
      return absl::StrCat("a number (", Quote(node.Scalar()), ")");
    case ScalarKind::kNull:
      return "null";
    case ScalarKind::kString:
      break;
  }
  return absl::StrCat("a string ", Quote(node.Scalar()));
}

// A key as it appears in a field path: escaped and cut like a quoted value, since keys
// are data too (labels, or garbage where a field name belongs).
std::string PathKey(std::string_view key) {
  std::string quoted = Quote(key);
  return quoted.substr(1, quoted.size() - 2);
}

std::string ChildPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? PathKey(key) : absl::StrCat(parent, ".", PathKey(key));
}

bool IsPlainDecimal(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  return IsDigits(text, "0123456789") && (text.size() == 1 || text.front() != '0');
}

}  // namespace

DocumentContext::DocumentContext(std::string_view file_name, int line_offset, int64_t node_budget)
    : file_name_(file_name), line_offset_(line_offset), budget_(node_budget) {}

int DocumentContext::FileLine(const YAML::Node& node) const {
  YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return 0;
  return line_offset_ + mark.line + 1;
}

void DocumentContext::AddError(int line, std::string field_path, std::string message) {
  errors_.push_back(
      DecodeError{SourceLocation{file_name_, line}, std::move(field_path), std::move(message)});
}

bool DocumentContext::Charge() {
  if (budget_ <= 0) {
    exhausted_ = true;
    return false;
  }
  --budget_;
  return true;
}

Field Field::Root(DocumentContext& context, const YAML::Node& node, std::string path, int line) {
  return Field(&context, node, std::move(path), line, !node.IsNull());
}

void Field::Error(std::string message) const {
  if (!muted_) context_->AddError(line_, path_, std::move(message));
}

Field Field::Muted() const {
  Field muted = *this;
  muted.muted_ = true;
  return muted;
}

void Field::TypeError(std::string_view expected) const {
  Error(absl::StrCat("must be ", std::string(expected), ", got ", Describe(node_)));
}

int Field::LineOf(const YAML::Node& node) const {
  // yaml-cpp marks a null value at the start of whatever follows it, often the next line.
  if (node.IsNull()) return line_;
  int line = context_->FileLine(node);
  return line > 0 ? line : line_;
}

Field Field::Child(std::string_view key, const YAML::Node& node, const YAML::Node& key_node) const {
  int line = context_->FileLine(key_node);
  return Field(context_, node, ChildPath(path_, key), line > 0 ? line : line_, !node.IsNull());
}

Field Field::Missing(std::string_view key) const {
  Field missing(context_, YAML::Node(), ChildPath(path_, key), line_, false);
  missing.muted_ = muted_;
  return missing;
}

Field Field::Item(size_t index, const YAML::Node& node) const {
  return Field(context_, node, absl::StrCat(path_, "[", index, "]"), LineOf(node), !node.IsNull());
}

Field Field::Keyed(std::string_view key, const YAML::Node& node, const YAML::Node& key_node) const {
  int line = context_->FileLine(key_node);
  return Field(context_, node, absl::StrCat(path_, "[", PathKey(key), "]"), line > 0 ? line : line_,
               !node.IsNull());
}

MapReader::MapReader(const Field& field, Keys keys) : field_(field) {
  if (!field.present()) return;
  if (!field.node().IsMap()) {
    field.TypeError("a map");
    field_ = field.Muted();
    return;
  }
  for (auto it = field.node().begin(); it != field.node().end(); ++it) {
    if (!field.context().Charge()) return;
    // Copies: `it->first` lives in a temporary proxy.
    const YAML::Node key_node = it->first;
    const YAML::Node value_node = it->second;
    if (!key_node.IsScalar()) {
      field.Keyed("?", value_node, key_node)
          .Error(absl::StrCat("a key must be a string, got ", Describe(key_node)));
      continue;
    }
    const std::string key = key_node.Scalar();
    Entry entry{key, key_node,
                keys == Keys::kFields ? field.Child(key, value_node, key_node)
                                      : field.Keyed(key, value_node, key_node)};
    if (entry.key == "<<" && key_node.Tag() == "?") {
      entry.value.Error("YAML merge keys (<<) are not supported");
      entry.known = true;
    } else if (auto [first, inserted] = index_.try_emplace(entry.key, entries_.size()); !inserted) {
      entry.value.Error(absl::StrCat("duplicate field (first set on line ",
                                     entries_[first->second].value.line(), ")"));
      entry.known = true;
    }
    entries_.push_back(std::move(entry));
  }
}

Field MapReader::Get(std::string_view key) {
  std::string key_string(key);
  asked_.push_back(key_string);
  auto it = index_.find(key_string);
  if (it == index_.end()) return field_.Missing(key);
  entries_[it->second].known = true;
  return entries_[it->second].value;
}

void MapReader::RejectUnknownFields(std::initializer_list<std::string_view> ignored) {
  for (Entry& entry : entries_) {
    if (entry.known || std::find(ignored.begin(), ignored.end(), entry.key) != ignored.end()) {
      continue;
    }
    entry.known = true;
    std::string message = "unknown field";
    for (const std::string& candidate : asked_) {
      if (absl::EqualsIgnoreCase(candidate, entry.key)) {
        absl::StrAppend(&message, "; did you mean ", Quote(candidate), "?");
        break;
      }
    }
    entry.value.Error(std::move(message));
  }
}

ScalarKind KindOf(const YAML::Node& node) {
  if (!node.IsScalar()) return ScalarKind::kNull;
  const std::string& tag = node.Tag();
  // "!" is yaml-cpp's tag for quoted and block scalars: always strings. Other explicit
  // tags (!!int, !!bool, ...) are not trusted: the text decides, so `!!bool maybe` is not
  // a boolean.
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return ScalarKind::kString;
  return ResolvePlain(node.Scalar());
}

std::vector<Field> ReadList(const Field& field) {
  std::vector<Field> items;
  if (!field.present()) return items;
  if (!field.node().IsSequence()) {
    field.TypeError("a list");
    return items;
  }
  size_t index = 0;
  for (auto it = field.node().begin(); it != field.node().end(); ++it, ++index) {
    if (!field.context().Charge()) break;
    items.push_back(field.Item(index, *it));
  }
  return items;
}

std::optional<std::string> ReadString(const Field& field) {
  if (!field.present()) return std::nullopt;
  if (field.node().IsScalar()) {
    ScalarKind kind = KindOf(field.node());
    if (kind == ScalarKind::kString) return field.node().Scalar();
    if (kind != ScalarKind::kNull) {
      // kubectl sends `version: 1.0` as a JSON number, which the API server refuses for a
      // string field; say how to fix it.
      field.Error(absl::StrCat("must be a string, got ", Describe(field.node()), "; quote it"));
      return std::nullopt;
    }
  }
  field.TypeError("a string");
  return std::nullopt;
}

std::optional<int64_t> ReadInt(const Field& field) {
  if (!field.present()) return std::nullopt;
  const YAML::Node& node = field.node();
  ScalarKind kind = KindOf(node);
  if (node.IsScalar() && kind == ScalarKind::kInt) {
    int64_t value = 0;
    if (!IsPlainDecimal(node.Scalar())) {
      field.Error(absl::StrCat("must be a decimal integer, got ", Quote(node.Scalar())));
      return std::nullopt;
    }
    if (!absl::SimpleAtoi(node.Scalar(), &value)) {
      field.Error(absl::StrCat("integer ", node.Scalar(), " is out of range"));
      return std::nullopt;
    }
    return value;
  }
  field.TypeError("an integer");
  return std::nullopt;
}

std::optional<bool> ReadBool(const Field& field) {
  if (!field.present()) return std::nullopt;
  if (field.node().IsScalar() && KindOf(field.node()) == ScalarKind::kBool) {
    static constexpr std::array<std::string_view, 11> kTrue = {
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
    return std::find(kTrue.begin(), kTrue.end(), field.node().Scalar()) != kTrue.end();
  }
  field.TypeError("true or false");
  return std::nullopt;
}

std::optional<IntOrString> ReadIntOrString(const Field& field) {
  if (!field.present()) return std::nullopt;
  if (field.node().IsScalar()) {
    switch (KindOf(field.node())) {
      case ScalarKind::kString:
        return field.node().Scalar();
      case ScalarKind::kInt:
        if (std::optional<int64_t> value = ReadInt(field)) return *value;
        return std::nullopt;
      default:
        break;
    }
  }
  field.TypeError("an integer or a string");
  return std::nullopt;
}

std::string Quote(std::string_view value) {
  bool cut = value.size() > kMaxQuotedLength;
  std::string escaped = absl::CHexEscape(std::string(value.substr(0, kMaxQuotedLength)));
  return absl::StrCat("\"", escaped, cut ? "...\"" : "\"");
}

}  // namespace flatwall::compiler::internal
