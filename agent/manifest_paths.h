// Finding and reading manifest files: the files named, and for a directory its *.yaml,
// *.yml and *.json files (recursively, in name order). Shared by the `flatwall` commands,
// the lab and the agent's directory source.
//
// Not here: decoding (policy-compiler/manifest_decoder.h).
#ifndef FLATWALL_AGENT_MANIFEST_PATHS_H_
#define FLATWALL_AGENT_MANIFEST_PATHS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flatwall::agent {

// True for the names a manifest directory contributes: *.yaml, *.yml and *.json.
bool IsManifestFileName(const std::string& path);

// The manifest files `paths` stand for, in order. NotFound names a path that does not exist.
absl::StatusOr<std::vector<std::string>> ExpandManifestPaths(
    const std::vector<std::string>& paths);

// The whole file. Internal names the file that cannot be opened or read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_MANIFEST_PATHS_H_
