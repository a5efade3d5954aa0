// Reads manifest files and directories into a cluster state, collecting every decode
// error with its file and line. Directories contribute their *.yaml, *.yml and *.json
// files (recursively, in name order), so `flatwall matrix examples/policies/` works.
//
// Not here: decoding (policy-compiler/manifest_decoder.h); watching for changes (the
// agent's directory source).
#ifndef FLATWALL_AGENT_CLI_MANIFEST_FILES_H_
#define FLATWALL_AGENT_CLI_MANIFEST_FILES_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/manifest_decoder.h"

namespace flatwall::cli {

struct LoadedManifests {
  compiler::ClusterState state;                // every valid object, later files win
  std::vector<compiler::DecodeError> errors;   // every rejected object or document
  std::vector<std::string> files;              // the files read, in order
};

// NotFound when a path does not exist; InvalidArgument when no manifest file was found;
// Internal when a file cannot be read. Decode errors are not a failure: they are listed.
absl::StatusOr<LoadedManifests> LoadManifests(const std::vector<std::string>& paths);

// LoadManifests for a `flatwall` command: prints a failure, or each decode error as a
// warning (the valid objects are still used), to `err` prefixed by `command`. nullopt
// when the manifests could not be read at all.
std::optional<LoadedManifests> LoadManifestsForCommand(const std::vector<std::string>& paths,
                                                       const std::string& command,
                                                       std::ostream& err);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_MANIFEST_FILES_H_
