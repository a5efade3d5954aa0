// For valid JSON that yaml-cpp refuses: escaped UTF-16 surrogate pairs ("\ud83d\ude00"),
// which yaml-cpp decodes one half at a time and rejects, and anything else (keys longer
// than YAML's 1024-character limit for implicit keys, ...), which nlohmann-json parses
// into a yaml-cpp tree without line marks.
//
// Not here: deciding when to fall back (yaml_documents.cc).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_JSON_FALLBACK_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_JSON_FALLBACK_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace flatwall::compiler::internal {

// True when the first character that is not whitespace (or a byte-order mark) opens a
// JSON object or array.
bool LooksLikeJson(std::string_view text);

// `json` with every escaped surrogate pair inside strings rewritten as the equivalent YAML
// escape \UXXXXXXXX, on the same line; nullopt when there is none to rewrite.
std::optional<std::string> CombineSurrogatePairs(std::string_view json);

// Parses `json` with nlohmann-json into a yaml-cpp tree typed as yaml-cpp would type it
// (strings carry the quoted-scalar tag "!", numbers and booleans are plain). Its nodes
// have no marks. InvalidArgument with nlohmann's message when the text is not JSON or
// nests deeper than the decoder ever needs. Never throws.
absl::StatusOr<YAML::Node> ParseJsonToYaml(std::string_view json);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_JSON_FALLBACK_H_
