#include "agent/manifest_paths.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flatwall::agent {
namespace fs = std::filesystem;

bool IsManifestFileName(const std::string& path) {
  std::string extension = fs::path(path).extension().string();
  return extension == ".yaml" || extension == ".yml" || extension == ".json";
}

absl::StatusOr<std::vector<std::string>> ExpandManifestPaths(
    const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::recursive_directory_iterator(path, error)) {
        if (entry.is_regular_file() && IsManifestFileName(entry.path().string())) {
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
  return files;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat("read ", path, ": cannot open"));
  std::stringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("read ", path, ": failed"));
  return contents.str();
}

}  // namespace flatwall::agent
