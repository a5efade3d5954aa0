#include "agent/lab/manifest_units.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/manifest_paths.h"
#include "policy-compiler/manifest_decoder.h"

namespace flatwall::lab {
namespace {

namespace fs = std::filesystem;

struct Chunk {
  std::string text;
  int first_line = 0;  // 0-based
};

std::vector<Chunk> SplitDocuments(const std::string& contents) {
  std::vector<Chunk> chunks(1);
  std::istringstream lines(contents);
  std::string line;
  int index = 0;
  while (std::getline(lines, line)) {
    if (compiler::IsYamlDocumentStart(line) && index > 0) chunks.push_back({"", index});
    chunks.back().text += line + "\n";
    ++index;
  }
  return chunks;
}

std::string FileStem(const compiler::ClusterObject& object) {
  std::string stem = absl::AsciiStrToLower(std::string(compiler::ObjectKind(object)));
  std::string key = compiler::ObjectKey(object);
  std::replace(key.begin(), key.end(), '/', '.');
  return absl::StrCat(stem, ".", key);
}

// Decodes `text`, which starts at 0-based line `first_line` of `file`, so that errors
// carry the line numbers of the file.
compiler::DecodeResult DecodeAt(const std::string& file, const std::string& text, int first_line) {
  return compiler::DecodeManifest(file, std::string(first_line, '\n') + text);
}

std::string ErrorList(const std::vector<compiler::DecodeError>& errors) {
  std::vector<std::string> lines;
  for (const compiler::DecodeError& error : errors) lines.push_back(error.ToString());
  return absl::StrJoin(lines, "\n");
}

absl::StatusOr<ManifestUnit> MakeUnit(const std::string& file, const std::string& text,
                                      int first_line) {
  compiler::DecodeResult decoded = DecodeAt(file, text, first_line);
  if (!decoded.errors.empty()) {
    return absl::InvalidArgumentError(ErrorList(decoded.errors));
  }
  ManifestUnit unit;
  unit.text = text;
  for (const compiler::ClusterObject& object : decoded.objects) {
    unit.object_ids.push_back(ObjectId(object));
  }
  if (!decoded.objects.empty()) {
    std::string extension = fs::path(file).extension() == ".json" ? ".json" : ".yaml";
    unit.file_name = absl::StrCat(decoded.objects.size() > 1 ? "list." : "",
                                  FileStem(decoded.objects.front()), extension);
  }
  std::sort(unit.object_ids.begin(), unit.object_ids.end());
  unit.object_ids.erase(std::unique(unit.object_ids.begin(), unit.object_ids.end()),
                        unit.object_ids.end());
  return unit;
}

bool Contains(const std::vector<std::string>& sorted, const std::string& id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

}  // namespace

std::string ObjectId(const compiler::ClusterObject& object) {
  return absl::StrCat(std::string(compiler::ObjectKind(object)), " ", compiler::ObjectKey(object));
}

absl::StatusOr<std::vector<ManifestUnit>> ReadManifestUnits(const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = agent::ExpandManifestPaths(paths);
  if (!files.ok()) return files.status();
  std::vector<ManifestUnit> units;
  std::vector<std::string> errors;
  for (const std::string& file : *files) {
    absl::StatusOr<std::string> contents = agent::ReadWholeFile(file);
    if (!contents.ok()) return contents.status();
    for (const Chunk& chunk : SplitDocuments(*contents)) {
      absl::StatusOr<ManifestUnit> unit = MakeUnit(file, chunk.text, chunk.first_line);
      if (!unit.ok()) {
        errors.emplace_back(unit.status().message());
      } else if (!unit->object_ids.empty()) {
        units.push_back(*std::move(unit));
      }
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid objects:\n", absl::StrJoin(errors, "\n")));
  }
  return units;
}

absl::StatusOr<DesiredManifests> DesiredManifests::Load(const std::string& dir) {
  DesiredManifests desired;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return desired;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_regular_file() || !agent::IsManifestFileName(entry.path().string())) continue;
    absl::StatusOr<std::string> text = agent::ReadWholeFile(entry.path().string());
    if (!text.ok()) return text.status();
    absl::StatusOr<ManifestUnit> unit = MakeUnit(entry.path().string(), *text, 0);
    if (!unit.ok()) {
      return absl::InternalError(absl::StrCat("lab state ", entry.path().string(),
                                              " no longer decodes: ", unit.status().message()));
    }
    unit->file_name = entry.path().filename().string();
    desired.units_[unit->file_name] = *std::move(unit);
  }
  return desired;
}

absl::Status DesiredManifests::Apply(const std::vector<ManifestUnit>& units) {
  std::map<std::string, ManifestUnit> result = units_;
  for (const ManifestUnit& unit : units) {
    for (auto it = result.begin(); it != result.end();) {
      const std::vector<std::string>& earlier = it->second.object_ids;
      bool overlaps = false, covered = true;
      for (const std::string& id : earlier) {
        bool held = Contains(unit.object_ids, id);
        overlaps = overlaps || held;
        covered = covered && held;
      }
      if (overlaps && !covered) {
        return absl::FailedPreconditionError(
            absl::StrCat("the objects of ", unit.file_name, " are part of a List applied earlier (",
                         absl::StrJoin(earlier, ", "), "): apply or delete that List as a whole"));
      }
      it = overlaps ? result.erase(it) : std::next(it);
    }
    result[unit.file_name] = unit;
  }
  units_ = std::move(result);
  return absl::OkStatus();
}

absl::Status DesiredManifests::Delete(const std::vector<ManifestUnit>& units) {
  std::set<std::string> doomed;
  for (const ManifestUnit& unit : units)
    doomed.insert(unit.object_ids.begin(), unit.object_ids.end());
  std::set<std::string> found;
  std::vector<std::string> removed;
  for (const auto& [file_name, unit] : units_) {
    int held = 0;
    for (const std::string& id : unit.object_ids) held += doomed.count(id);
    if (held == 0) continue;
    if (held != static_cast<int>(unit.object_ids.size())) {
      return absl::FailedPreconditionError(absl::StrCat("cannot delete part of a List (",
                                                        absl::StrJoin(unit.object_ids, ", "),
                                                        "): delete it as a whole"));
    }
    found.insert(unit.object_ids.begin(), unit.object_ids.end());
    removed.push_back(file_name);
  }
  std::vector<std::string> missing;
  std::set_difference(doomed.begin(), doomed.end(), found.begin(), found.end(),
                      std::back_inserter(missing));
  if (!missing.empty()) {
    return absl::NotFoundError(absl::StrCat("not in the lab: ", absl::StrJoin(missing, ", ")));
  }
  for (const std::string& file_name : removed) units_.erase(file_name);
  return absl::OkStatus();
}

std::map<std::string, std::string> DesiredManifests::Files() const {
  std::map<std::string, std::string> files;
  for (const auto& [file_name, unit] : units_) files[file_name] = unit.text;
  return files;
}

compiler::ClusterState DesiredManifests::State() const {
  compiler::ClusterState state;
  for (const auto& [file_name, unit] : units_) {
    for (compiler::ClusterObject& object : compiler::DecodeManifest(file_name, unit.text).objects) {
      state.Apply({compiler::ClusterEvent::kUpsert, std::move(object)});
    }
  }
  return state;
}

absl::Status SyncDirectory(const std::string& dir,
                           const std::map<std::string, std::string>& files) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("create ", dir, ": ", error.message()));
  for (const auto& [name, text] : files) {
    std::string path = absl::StrCat(dir, "/", name);
    absl::StatusOr<std::string> current = agent::ReadWholeFile(path);
    if (current.ok() && *current == text) continue;
    // A dot-prefixed name without a manifest extension: a watcher skips it.
    std::string temporary = absl::StrCat(dir, "/.", name, ".tmp");
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << text;
      out.close();
      if (!out) return absl::InternalError(absl::StrCat("write ", temporary, ": failed"));
    }
    if (rename(temporary.c_str(), path.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("rename ", temporary, " to ", path, ": failed"));
    }
  }
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (agent::IsManifestFileName(entry.path().string()) && !files.count(entry.path().filename().string())) {
      fs::remove(entry.path(), error);
      if (error) {
        return absl::InternalError(
            absl::StrCat("remove ", entry.path().string(), ": ", error.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace flatwall::lab
