#include "agent/cli/manifest_files.h"

#include "agent/manifest_paths.h"

namespace flatwall::cli {

absl::StatusOr<LoadedManifests> LoadManifests(const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = agent::ExpandManifestPaths(paths);
  if (!files.ok()) return files.status();
  if (files->empty()) {
    return absl::InvalidArgumentError("no manifest files (*.yaml, *.yml, *.json) given");
  }
  LoadedManifests loaded;
  for (const std::string& file : *files) {
    absl::StatusOr<std::string> contents = agent::ReadWholeFile(file);
    if (!contents.ok()) return contents.status();
    compiler::DecodeResult decoded = compiler::DecodeManifest(file, *contents);
    for (compiler::ClusterObject& object : decoded.objects) {
      loaded.state.Apply({compiler::ClusterEvent::kUpsert, std::move(object)});
    }
    loaded.errors.insert(loaded.errors.end(), decoded.errors.begin(), decoded.errors.end());
    loaded.files.push_back(file);
  }
  return loaded;
}

std::optional<LoadedManifests> LoadManifestsForCommand(const std::vector<std::string>& paths,
                                                       const std::string& command,
                                                       std::ostream& err) {
  absl::StatusOr<LoadedManifests> loaded = LoadManifests(paths);
  if (!loaded.ok()) {
    err << "flatwall " << command << ": " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  for (const compiler::DecodeError& error : loaded->errors) {
    err << "warning: skipped invalid object: " << error.ToString() << "\n";
  }
  return *std::move(loaded);
}

}  // namespace flatwall::cli
