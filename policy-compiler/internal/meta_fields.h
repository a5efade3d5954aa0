// Readers for the fields several kinds share: ObjectMeta, labels and annotations, label
// selectors, protocols and port numbers/names, each validated as the API server does
// (apimachinery's ValidateObjectMeta, ValidateLabels, ValidateLabelSelector, IsValidPortNum,
// IsValidPortName). Errors go to the field's document context.
//
// Not here: the grammars themselves (name_validation.h), kind-specific fields (the object
// decoders).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_META_FIELDS_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_META_FIELDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "policy-compiler/internal/yaml_reader.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

enum class NameRule { kDns1123Label, kDns1123Subdomain, kDns1035Label };

struct MetaRules {
  NameRule name_rule = NameRule::kDns1123Subdomain;
  bool namespaced = true;       // read metadata.namespace, default "default"
  bool reject_unknown = false;  // strict field validation of metadata itself
};

struct ObjectMeta {
  std::string name;
  std::string namespace_name;  // empty for cluster-scoped kinds
  std::string uid;
  int64_t generation = 0;
  Labels labels;
  std::map<std::string, std::string> annotations;
};

// metadata: name (required, checked against rules.name_rule), namespace (a DNS-1123
// label; "default" when absent), uid, generation, labels and annotations (validated; the
// values of the annotations Flatwall reads too, see annotations.h).
ObjectMeta ReadObjectMeta(const Field& metadata, const MetaRules& rules);

// A map of label keys (qualified names) to label values.
Labels ReadLabels(const Field& field);

// A metav1.LabelSelector (matchLabels, matchExpressions), with unknown fields rejected.
// nullopt when the field is not present.
std::optional<LabelSelector> ReadLabelSelector(const Field& field);

// TCP, UDP or SCTP in exact case; TCP when absent.
Protocol ReadProtocol(const Field& field);

// A port number 1-65535; nullopt when absent or invalid (reported).
std::optional<uint16_t> ReadPortNumber(const Field& field);

// Checks a number read from `field` against 1..65535; nullopt when out of range (reported).
std::optional<uint16_t> CheckPortNumber(const Field& field, int64_t number);

// Checks an int-or-string read from `field`: a port number 1-65535 or an IANA_SVC_NAME;
// nullopt when invalid (reported).
std::optional<std::variant<uint16_t, std::string>> CheckPortNumberOrName(const Field& field,
                                                                         IntOrString value);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_META_FIELDS_H_
