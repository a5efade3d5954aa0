#include "agent/cli/manifest_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flatwall::cli {
namespace {

namespace fs = std::filesystem;

bool IsManifestFile(const fs::path& path) {
  std::string extension = path.extension().string();
  return extension == ".yaml" || extension == ".yml" || extension == ".json";
}

absl::StatusOr<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::recursive_directory_iterator(path, error)) {
        if (entry.is_regular_file() && IsManifestFile(entry.path())) {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, error)) {
      files.push_back(path);
    } else {
      return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
    }
  }
  if (files.empty()) {
    return absl::InvalidArgumentError("no manifest files (*.yaml, *.yml, *.json) given");
  }
  return files;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::InternalError(absl::StrCat("read ", path, ": failed"));
  }
  return contents.str();
}

}  // namespace

absl::StatusOr<LoadedManifests> LoadManifests(const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = ExpandPaths(paths);
  if (!files.ok()) return files.status();
  LoadedManifests loaded;
  for (const std::string& file : *files) {
    absl::StatusOr<std::string> contents = ReadFile(file);
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
