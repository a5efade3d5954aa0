// Splitting manifest text into documents and parsing them with yaml-cpp, so that a syntax
// error costs only the document it is in. JSON is parsed the same way (it is flow-style
// YAML); the rare valid JSON yaml-cpp refuses goes through json_fallback.h.
//
// Not here: reading the parsed nodes (yaml_reader.h), Kubernetes semantics.
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_YAML_DOCUMENTS_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_YAML_DOCUMENTS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yaml-cpp/yaml.h"

namespace flatwall::compiler::internal {

// A run of lines from one document-start marker line (`---`, alone or followed by a space,
// tab or comment) up to the next; the first chunk starts at the top of the file. kubectl
// splits multi-document files at the same lines.
struct DocumentChunk {
  std::string_view text;
  int first_line = 0;  // 0-based file line of text's first line
};

std::vector<DocumentChunk> SplitDocuments(std::string_view contents);

struct ParsedChunk {
  // Every document of the chunk (a chunk holds more than one only when `...` ends a
  // document inside it); null documents included. Empty after a syntax error.
  std::vector<YAML::Node> documents;
  // 1-based file line of the chunk's first line that is not blank, a comment or a marker:
  // the line of nodes that carry no mark (from the JSON fallback).
  int content_line = 0;
  struct SyntaxError {
    int line = 0;  // 1-based file line
    std::string message;
  };
  std::optional<SyntaxError> syntax_error;
};

// Parses one chunk; never throws.
ParsedChunk ParseChunk(const DocumentChunk& chunk);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_YAML_DOCUMENTS_H_
