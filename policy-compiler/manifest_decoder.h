// Decoding and validating Kubernetes manifests (YAML or JSON text) into the typed model:
// v1 Namespace, Pod, Service and networking.k8s.io/v1 NetworkPolicy objects, alone or in
// v1 List / typed List wrappers, with the API server's defaulting and at least its
// validation. Every error carries the file, line and field path of what is wrong.
//
// Not here: reading files or watching the API (the caller passes file name and contents),
// selector matching (selector.h), compiling policies (compiler.h).
#ifndef FLATWALL_POLICY_COMPILER_MANIFEST_DECODER_H_
#define FLATWALL_POLICY_COMPILER_MANIFEST_DECODER_H_

#include <string>
#include <string_view>
#include <vector>

#include "policy-compiler/model.h"

namespace flatwall::compiler {

struct DecodeError {
  SourceLocation location;  // file and 1-based line of the offending field (or object)
  std::string field_path;   // e.g. "spec.ingress[0].ports[1].endPort"; empty for syntax errors
  std::string message;      // e.g. "must be >= port 8080"

  // "policies.yaml:14: spec.ingress[0].ports[1].endPort: must be >= port 8080"; the path
  // part is left out when empty, the line when 0 (unknown).
  std::string ToString() const;

  friend bool operator==(const DecodeError&, const DecodeError&) = default;
};

struct DecodeResult {
  std::vector<ClusterObject> objects;  // every valid object, in file order
  std::vector<DecodeError> errors;     // one or more per rejected object / unparsable document
};

// Decodes every object of a manifest file: multi-document YAML (`---` separated) or JSON.
//
// Contract:
// - Pure: no I/O, no globals; the same input gives the same result. `file_name` is only
//   used in locations.
// - An object with any error is left out of `objects` whole, and each of its errors is
//   reported with its own line and field path. Valid objects are always kept, including
//   those in other documents of a file where one document has a YAML syntax error (the
//   file is split at `---` lines and each part is parsed on its own).
// - Empty and null documents are skipped silently. Objects of other kinds are errors.
// - Defaulting as the API server does it: namespace "default", protocol TCP, policyTypes,
//   the kubernetes.io/metadata.name label on namespaces; ipBlock CIDRs with host bits set
//   are accepted and normalized, as the API server does for that legacy field.
// - Never throws and never crashes, whatever the input; work is bounded by the input size
//   (YAML aliases that would expand beyond that are an error).
DecodeResult DecodeManifest(std::string_view file_name, std::string_view contents);

// True for a line that starts a new YAML document, as kubectl and DecodeManifest split
// files: "---" alone or followed by a space, tab or carriage return.
bool IsYamlDocumentStart(std::string_view line);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_MANIFEST_DECODER_H_
