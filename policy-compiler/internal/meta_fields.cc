#include "policy-compiler/internal/meta_fields.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "policy-compiler/annotations.h"
#include "policy-compiler/internal/name_validation.h"

namespace flatwall::compiler::internal {
namespace {

// apimachinery's TotalAnnotationSizeLimitB.
constexpr size_t kMaxAnnotationBytes = 256 * 1024;

// Reports `status` (a name_validation result) for `value` at `field`; true when valid.
bool Check(const Field& field, std::string_view value, const absl::Status& status) {
  if (status.ok()) return true;
  field.Error(absl::StrCat("invalid value ", Quote(value), ": ", status.message()));
  return false;
}

absl::Status ValidateName(NameRule rule, std::string_view name) {
  switch (rule) {
    case NameRule::kDns1123Label:
      return ValidateDns1123Label(name);
    case NameRule::kDns1035Label:
      return ValidateDns1035Label(name);
    case NameRule::kDns1123Subdomain:
      break;
  }
  return ValidateDns1123Subdomain(name);
}

// Kubernetes' YAML reader turns a plain key such as `yes` or `1.0` into the JSON key "true"
// or "1", so the text a reader sees is not the key the API server stores. Refuse those
// instead of guessing; quoting the key removes the doubt.
bool CheckKeyIsLiteral(const Field& field, const MapReader::Entry& entry) {
  ScalarKind kind = KindOf(entry.key_node);
  bool canonical_integer = kind == ScalarKind::kInt && !entry.key.empty() &&
                           std::all_of(entry.key.begin(), entry.key.end(), absl::ascii_isdigit) &&
                           (entry.key.size() == 1 || entry.key.front() != '0');
  if (kind == ScalarKind::kString || canonical_integer) return true;
  field.Error(absl::StrCat("key ", Quote(entry.key),
                           " is not read as a string by Kubernetes' YAML; quote it"));
  return false;
}

using Validator = absl::Status (*)(std::string_view);
// A value's validity may depend on its key (the annotations Flatwall reads).
using ValueValidator = absl::Status (*)(std::string_view key, std::string_view value);

absl::Status LabelValue(std::string_view, std::string_view value) {
  return ValidateLabelValue(value);
}

// The entries of a free-form string map whose keys and values pass their validators.
std::vector<std::pair<std::string, std::string>> ReadStringMap(const Field& field,
                                                               Validator validate_key,
                                                               ValueValidator validate_value) {
  std::vector<std::pair<std::string, std::string>> result;
  MapReader map(field, MapReader::Keys::kFreeForm);
  for (const MapReader::Entry& entry : map.entries()) {
    if (entry.known) continue;  // a duplicate or merge key, already reported
    const Field& value = entry.value;
    bool key_ok = CheckKeyIsLiteral(value, entry);
    if (key_ok) {
      if (absl::Status status = validate_key(entry.key); !status.ok()) {
        value.Error(absl::StrCat("invalid key ", Quote(entry.key), ": ", status.message()));
        key_ok = false;
      }
    }
    // A null value decodes as "" in Go.
    std::string text;
    if (value.present()) {
      std::optional<std::string> read = ReadString(value);
      if (!read) continue;
      text = std::move(*read);
    }
    if (!Check(value, text, validate_value(entry.key, text))) continue;
    if (key_ok) result.emplace_back(entry.key, std::move(text));
  }
  return result;
}

absl::Status ValidateAnnotationKey(std::string_view key) {
  // apimachinery lower-cases annotation keys before checking them.
  return ValidateQualifiedName(absl::AsciiStrToLower(std::string(key)));
}

std::optional<LabelSelectorRequirement> ReadRequirement(const Field& field) {
  using Operator = LabelSelectorRequirement::Operator;
  static constexpr std::pair<std::string_view, Operator> kOperators[] = {
      {"In", Operator::kIn},
      {"NotIn", Operator::kNotIn},
      {"Exists", Operator::kExists},
      {"DoesNotExist", Operator::kDoesNotExist}};
  MapReader map(field);
  LabelSelectorRequirement requirement;
  bool ok = true;

  Field key = map.Get("key");
  if (!key.present()) {
    key.Error("required");
    ok = false;
  } else if (std::optional<std::string> text = ReadString(key)) {
    ok &= Check(key, *text, ValidateQualifiedName(*text));
    requirement.key = std::move(*text);
  } else {
    ok = false;
  }

  Field op = map.Get("operator");
  std::optional<Operator> parsed_op;
  if (!op.present()) {
    op.Error("required");
  } else if (std::optional<std::string> text = ReadString(op)) {
    for (const auto& [name, value] : kOperators) {
      if (*text == name) parsed_op = value;
    }
    if (!parsed_op) {
      op.Error(absl::StrCat("unsupported value ", Quote(*text),
                            ": must be one of In, NotIn, Exists, DoesNotExist"));
    }
  }
  ok &= parsed_op.has_value();

  Field values = map.Get("values");
  for (const Field& item : ReadList(values)) {
    std::optional<std::string> text = item.present() ? ReadString(item) : std::string();
    if (!text || !Check(item, *text, ValidateLabelValue(*text))) {
      ok = false;
      continue;
    }
    requirement.values.push_back(std::move(*text));
  }
  std::sort(requirement.values.begin(), requirement.values.end());
  requirement.values.erase(std::unique(requirement.values.begin(), requirement.values.end()),
                           requirement.values.end());
  if (parsed_op) {
    requirement.op = *parsed_op;
    bool is_set_op = *parsed_op == Operator::kIn || *parsed_op == Operator::kNotIn;
    bool has_values = values.present() && values.node().IsSequence() && values.node().size() > 0;
    if (is_set_op && !has_values) {
      values.Error("must be non-empty when operator is In or NotIn");
      ok = false;
    } else if (!is_set_op && has_values) {
      values.Error("must be empty when operator is Exists or DoesNotExist");
      ok = false;
    }
  }
  map.RejectUnknownFields();
  if (!ok) return std::nullopt;
  return requirement;
}

}  // namespace

ObjectMeta ReadObjectMeta(const Field& metadata, const MetaRules& rules) {
  ObjectMeta meta;
  MapReader map(metadata);

  Field name = map.Get("name");
  if (!name.present()) {
    name.Error("required");
  } else if (std::optional<std::string> text = ReadString(name)) {
    Check(name, *text, ValidateName(rules.name_rule, *text));
    meta.name = std::move(*text);
  }

  Field namespace_field = map.Get("namespace");
  if (rules.namespaced) {
    meta.namespace_name = "default";
    if (std::optional<std::string> text = ReadString(namespace_field); text && !text->empty()) {
      Check(namespace_field, *text, ValidateDns1123Label(*text));
      meta.namespace_name = std::move(*text);
    }
  }

  if (std::optional<std::string> uid = ReadString(map.Get("uid"))) meta.uid = std::move(*uid);
  if (std::optional<int64_t> generation = ReadInt(map.Get("generation"))) {
    meta.generation = *generation;
  }
  meta.labels = ReadLabels(map.Get("labels"));

  Field annotations = map.Get("annotations");
  size_t annotation_bytes = 0;
  for (auto& [key, value] : ReadStringMap(annotations, ValidateAnnotationKey, ValidateAnnotation)) {
    annotation_bytes += key.size() + value.size();
    // Validated all, kept only where the compiler reads them (the API decoder keeps the same).
    if (IsFlatwallAnnotation(key)) meta.annotations.emplace(std::move(key), std::move(value));
  }
  if (annotation_bytes > kMaxAnnotationBytes) {
    annotations.Error(absl::StrCat("may not be more than ", kMaxAnnotationBytes,
                                   " bytes in total, got ", annotation_bytes));
  }

  if (rules.reject_unknown) {
    // The rest of ObjectMeta is set by the API server; accepted and ignored.
    map.RejectUnknownFields({"generateName", "selfLink", "resourceVersion", "creationTimestamp",
                             "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
                             "finalizers", "managedFields"});
  }
  return meta;
}

Labels ReadLabels(const Field& field) {
  Labels labels;
  for (auto& [key, value] : ReadStringMap(field, ValidateQualifiedName, LabelValue)) {
    labels.emplace(std::move(key), std::move(value));
  }
  return labels;
}

std::optional<LabelSelector> ReadLabelSelector(const Field& field) {
  if (!field.present()) return std::nullopt;
  MapReader map(field);
  LabelSelector selector;
  selector.match_labels = ReadLabels(map.Get("matchLabels"));
  for (const Field& item : ReadList(map.Get("matchExpressions"))) {
    if (std::optional<LabelSelectorRequirement> requirement = ReadRequirement(item)) {
      selector.match_expressions.push_back(std::move(*requirement));
    }
  }
  map.RejectUnknownFields();
  return selector;
}

Protocol ReadProtocol(const Field& field) {
  std::optional<std::string> text = ReadString(field);
  if (!text) return Protocol::kTcp;
  std::optional<Protocol> protocol = ParseProtocolName(*text);
  if (!protocol) {
    field.Error(
        absl::StrCat("unsupported value ", Quote(*text), ": must be one of TCP, UDP, SCTP"));
    return Protocol::kTcp;
  }
  return *protocol;
}

std::optional<uint16_t> CheckPortNumber(const Field& field, int64_t number) {
  if (number < 1 || number > 65535) {
    field.Error(absl::StrCat("invalid value ", number, ": must be between 1 and 65535, inclusive"));
    return std::nullopt;
  }
  return static_cast<uint16_t>(number);
}

std::optional<uint16_t> ReadPortNumber(const Field& field) {
  std::optional<int64_t> number = ReadInt(field);
  if (!number) return std::nullopt;
  return CheckPortNumber(field, *number);
}

std::optional<std::variant<uint16_t, std::string>> CheckPortNumberOrName(const Field& field,
                                                                         IntOrString value) {
  if (const int64_t* number = std::get_if<int64_t>(&value)) {
    std::optional<uint16_t> port = CheckPortNumber(field, *number);
    if (!port) return std::nullopt;
    return *port;
  }
  std::string& name = std::get<std::string>(value);
  if (absl::Status status = ValidatePortName(name); !status.ok()) {
    bool numeric = !name.empty() && std::all_of(name.begin(), name.end(), absl::ascii_isdigit);
    field.Error(absl::StrCat("invalid port name ", Quote(name), ": ", status.message(),
                             numeric ? " (a port number must not be quoted)" : ""));
    return std::nullopt;
  }
  return std::move(name);
}

}  // namespace flatwall::compiler::internal
