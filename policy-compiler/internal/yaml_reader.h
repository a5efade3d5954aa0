// Typed, located reading of one parsed YAML document for the manifest decoder. Every value
// read knows its field path ("spec.ingress[0].ports[1].endPort") and file line; every type
// mismatch, duplicate key or unknown field becomes a DecodeError instead of an exception;
// and a node budget bounds the work that aliases ("billion laughs") can cause.
//
// Scalars are typed the way Kubernetes' own YAML reader (go-yaml v2, YAML 1.1 rules) types
// them, so that a manifest kubectl would reject for a type error (`version: 1.0` as a label
// value, `port: "80"` as a number) is rejected here too.
//
// Not here: splitting and parsing text (yaml_documents.h), Kubernetes semantics
// (meta_fields.h and the object decoders).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_YAML_READER_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_YAML_READER_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy-compiler/manifest_decoder.h"
#include "yaml-cpp/yaml.h"

namespace flatwall::compiler::internal {

// What is shared by every Field of one document: the file, where the document's marks
// start, the errors found so far and the node budget.
class DocumentContext {
 public:
  // `line_offset`: the 0-based file line that the document's marks count from.
  // `node_budget`: how many nodes the readers may visit (aliases make a small text visit
  // many nodes; see Charge).
  DocumentContext(std::string_view file_name, int line_offset, int64_t node_budget);

  // 1-based file line of a node's mark; 0 for a node without one (built by the JSON
  // fallback).
  int FileLine(const YAML::Node& node) const;
  void AddError(int line, std::string field_path, std::string message);
  // Charges one node visit. Once the budget is spent it returns false, the readers stop
  // descending (everything further reads as empty) and exhausted() turns true; the caller
  // then discards the document's objects and errors.
  bool Charge();
  bool exhausted() const { return exhausted_; }

  const std::string& file_name() const { return file_name_; }
  std::vector<DecodeError>& errors() { return errors_; }

 private:
  std::string file_name_;
  int line_offset_;
  int64_t budget_;
  bool exhausted_ = false;
  std::vector<DecodeError> errors_;
};

// One value of the document, with its path and line. A Field is "present" unless it is
// absent from its map or null; reading a field that is not present gives nothing and
// reports nothing (callers decide whether it was required).
class Field {
 public:
  // The root of an object: a document root or an item of a List.
  static Field Root(DocumentContext& context, const YAML::Node& node, std::string path, int line);

  bool present() const { return present_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  int line() const { return line_; }
  DocumentContext& context() const { return *context_; }

  // Reports `message` at this field's path and line (unless the field is muted).
  void Error(std::string message) const;
  // Reports "must be <expected>, got <what this is>".
  void TypeError(std::string_view expected) const;

  // Children. A child's line is its key's line (or the item's own line), falling back to
  // this field's line when the node has no mark; a missing child has this field's line.
  Field Child(std::string_view key, const YAML::Node& node, const YAML::Node& key_node) const;
  Field Missing(std::string_view key) const;
  Field Item(size_t index, const YAML::Node& node) const;
  // A value of a map with free-form keys: path "labels[app]".
  Field Keyed(std::string_view key, const YAML::Node& node, const YAML::Node& key_node) const;
  // This field with its errors, and those of its missing children, dropped: for the
  // children of a value already reported as being of the wrong type, so that `spec: 5`
  // is one error rather than one per required field under it.
  Field Muted() const;

 private:
  Field(DocumentContext* context, YAML::Node node, std::string path, int line, bool present)
      : context_(context),
        node_(std::move(node)),
        path_(std::move(path)),
        line_(line),
        present_(present) {}
  int LineOf(const YAML::Node& node) const;

  DocumentContext* context_;
  YAML::Node node_;
  std::string path_;
  int line_;
  bool present_;
  bool muted_ = false;
};

// A map value, indexed once (yaml-cpp's own lookup is linear per key).
class MapReader {
 public:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    Field value;
    bool known = false;  // read with Get(), or already reported
  };

  // kFields: keys are field names, values have paths "spec.podSelector".
  // kFreeForm: keys are data (labels, annotations), values have paths "labels[app]".
  enum class Keys { kFields, kFreeForm };

  // Absent or null reads as an empty map; any other non-map is reported and reads as empty.
  // Duplicate keys, YAML merge keys (<<) and keys that are not scalars are reported.
  explicit MapReader(const Field& field, Keys keys = Keys::kFields);

  // The value under `key` (a missing Field when there is none); marks `key` as known.
  Field Get(std::string_view key);
  // Every entry in document order, for maps with free-form keys (labels, annotations).
  const std::vector<Entry>& entries() const { return entries_; }
  // Reports each key neither read with Get() nor listed in `ignored` as an unknown field,
  // as the API server's strict field validation does.
  void RejectUnknownFields(std::initializer_list<std::string_view> ignored = {});

 private:
  Field field_;
  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<std::string> asked_;  // keys passed to Get(), for "did you mean"
};

// How Kubernetes' YAML reader types a scalar (null for absent/null nodes).
enum class ScalarKind { kNull, kBool, kInt, kFloat, kString };
ScalarKind KindOf(const YAML::Node& node);

// The items of a list. Absent or null reads as empty; a non-list is reported.
std::vector<Field> ReadList(const Field& field);

// Typed scalars. Each returns nullopt, reporting nothing, when the field is not present,
// and nullopt after reporting a type error when it holds something else.
std::optional<std::string> ReadString(const Field& field);
// A decimal integer that fits in 64 bits. Other YAML 1.1 integer spellings (0x50, 0o17,
// 1_000, 010) are rejected: go-yaml reads 010 as 8, which no reader of a manifest expects.
std::optional<int64_t> ReadInt(const Field& field);
std::optional<bool> ReadBool(const Field& field);
// intstr.IntOrString: an unquoted integer is an int, a string is a string.
using IntOrString = std::variant<int64_t, std::string>;
std::optional<IntOrString> ReadIntOrString(const Field& field);

// `value` in double quotes for a message: C-escaped and cut to a readable length.
std::string Quote(std::string_view value);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_YAML_READER_H_
