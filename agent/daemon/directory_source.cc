#include "agent/daemon/directory_source.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "agent/manifest_paths.h"
#include "policy-compiler/manifest_decoder.h"

namespace flatwall::agent {
namespace fs = std::filesystem;
namespace {

bool IsHidden(const std::string& name) { return !name.empty() && name.front() == '.'; }

std::string BaseName(const std::string& path) { return fs::path(path).filename().string(); }

std::string ParentDir(const std::string& path) { return fs::path(path).parent_path().string(); }

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? absl::StrCat("/", name) : absl::StrCat(dir, "/", name);
}

// Absolute and without "." / ".." / trailing separators, so that every path the source
// reports starts with it.
std::string NormalizeRoot(const std::string& root) {
  std::error_code error;
  fs::path path = fs::absolute(root, error);
  if (error) path = root;
  path = path.lexically_normal();
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path()) {
    path = path.parent_path();
  }
  return path.string();
}

int LineOf(const compiler::ClusterObject& object) {
  return std::visit([](const auto& typed) { return typed.source.line; }, object);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DirectorySource>> DirectorySource::Open(const std::string& root) {
  std::string normalized = NormalizeRoot(root);
  struct stat status;
  if (stat(normalized.c_str(), &status) != 0) {
    return absl::NotFoundError(
        absl::StrCat("manifest directory ", root, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(status.st_mode)) {
    return absl::NotFoundError(absl::StrCat("manifest directory ", root, ": not a directory"));
  }
  absl::StatusOr<std::unique_ptr<TreeWatcher>> watcher = TreeWatcher::Open(normalized);
  if (!watcher.ok()) return watcher.status();
  return std::unique_ptr<DirectorySource>(
      new DirectorySource(std::move(normalized), *std::move(watcher)));
}

DirectorySource::DirectorySource(std::string root, std::unique_ptr<TreeWatcher> watcher)
    : root_(std::move(root)), watcher_(std::move(watcher)) {}

std::vector<std::string> DirectorySource::Problems() const {
  std::vector<std::string> problems;
  for (const SourceFileError& error : errors_) {
    problems.push_back(
        absl::StrCat(error.message, " (the objects this file held before stay enforced)"));
  }
  return problems;
}

absl::StatusOr<EventBatches> DirectorySource::Sync() {
  absl::StatusOr<TreeChanges> changes = watcher_->ReadChanges();
  if (!changes.ok()) return changes.status();
  if (!synced_) changes->everything = true;
  synced_ = true;
  if (changes->everything && !watcher_->root_missing()) {
    ScanTree(root_, /*reread=*/true);
  } else {
    // Directories first: a renamed directory must be forgotten under its old name and
    // found under its new one before single entries are looked at.
    for (const std::string& dir : changes->directories) ScanTree(dir, /*reread=*/false);
    std::set<std::string> listings;
    for (const auto& [path, change] : changes->entries) {
      ApplyEntryChange(path, change, listings);
    }
    for (const std::string& dir : listings) ScanListing(dir);
  }
  CollectErrors();
  EventBatches batches;
  std::vector<compiler::ClusterEvent> events = ledger_.TakeEvents();
  if (!events.empty()) batches.push_back(std::move(events));
  return batches;
}

void DirectorySource::ApplyEntryChange(const std::string& path, EntryChange change,
                                       std::set<std::string>& listings) {
  std::string name = BaseName(path);
  if (IsHidden(name) || !IsManifestFileName(name)) {
    // A symlink swapped next to the manifests (a ConfigMap volume renames `..data`) may
    // change what they point to; editors' own files only cost a few stat() calls.
    if (change == EntryChange::kCreated || change == EntryChange::kLinked) {
      listings.insert(ParentDir(path));
    }
    return;
  }
  if (change == EntryChange::kCreated) {
    // A new regular file is read when its writer closes it; reading it now could see half
    // of it. Symlinks, hard links and special files get no such notification.
    struct stat status;
    if (lstat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode) && status.st_nlink == 1) {
      return;
    }
  }
  CheckFile(path, /*reread=*/change == EntryChange::kWritten);
}

void DirectorySource::ScanTree(const std::string& dir, bool reread) {
  struct stat status;
  // The root may be a symlink; below it, symlinks to directories are not followed.
  int found = dir == root_ ? stat(dir.c_str(), &status) : lstat(dir.c_str(), &status);
  if (found != 0 || !S_ISDIR(status.st_mode) || (dir != root_ && IsHidden(BaseName(dir)))) {
    // The root's own disappearance keeps its objects (see Sync); the watcher reports it.
    if (dir != root_) ForgetTree(dir);
    return;
  }
  std::set<std::string> seen_files;
  std::set<std::string> seen_dirs;
  Walk(dir, reread, seen_files, seen_dirs);
  for (const std::string& path : PathsAtOrBelow(files_, dir)) {
    if (!seen_files.count(path)) ForgetFile(path);
  }
  watcher_->KeepOnly(dir, seen_dirs);
  for (const std::string& path : PathsAtOrBelow(dir_problems_, dir)) {
    if (!seen_dirs.count(path)) dir_problems_.erase(path);
  }
}

void DirectorySource::Walk(const std::string& dir, bool reread, std::set<std::string>& seen_files,
                           std::set<std::string>& seen_dirs) {
  seen_dirs.insert(dir);
  // Watch before listing: an entry created in between is then reported, not missed.
  if (dir != root_) {
    if (absl::Status watched = watcher_->Watch(dir); !watched.ok()) {
      dir_problems_[dir] = absl::StrCat(watched.message(), "; changes below it are missed");
    } else {
      dir_problems_.erase(dir);
    }
  }
  std::error_code error;
  fs::directory_iterator entries(dir, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    std::string name = entries->path().filename().string();
    if (IsHidden(name)) continue;
    std::string path = JoinPath(dir, name);
    std::error_code type_error;
    if (entries->is_directory(type_error) && !entries->is_symlink(type_error)) {
      Walk(path, reread, seen_files, seen_dirs);
    } else if (IsManifestFileName(name)) {
      CheckFile(path, reread);
      if (files_.count(path)) seen_files.insert(path);
    }
  }
  if (error) {
    // Like a file that cannot be read: what was known below stays.
    dir_problems_[dir] = absl::StrCat(dir, ": cannot list: ", error.message(),
                                      "; its files keep their last objects");
    for (const std::string& path : PathsAtOrBelow(files_, dir)) seen_files.insert(path);
  }
}

void DirectorySource::ScanListing(const std::string& dir) {
  std::set<std::string> paths;
  for (const std::string& path : PathsAtOrBelow(files_, dir)) {
    if (ParentDir(path) == dir) paths.insert(path);
  }
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    std::error_code type_error;
    if (!IsHidden(name) && IsManifestFileName(name) && !entry.is_directory(type_error)) {
      paths.insert(JoinPath(dir, name));
    }
  }
  for (const std::string& path : paths) CheckFile(path, /*reread=*/false);
}

void DirectorySource::CheckFile(const std::string& path, bool reread) {
  struct stat status;
  if (stat(path.c_str(), &status) != 0) {
    int error = errno;
    struct stat link_status;
    if (error == ENOENT || error == ENOTDIR) {
      if (lstat(path.c_str(), &link_status) != 0) {
        ForgetFile(path);
        return;
      }
    }
    // The name is there but leads nowhere readable (a dangling symlink, a permission).
    FileState& state = files_[path];
    if (!reread && state.identity == FileIdentity{}) return;
    state.identity = FileIdentity{};
    FailFile(state, {absl::StrCat(path, ": ", std::strerror(error))});
    return;
  }
  if (S_ISDIR(status.st_mode)) {
    // A directory with a manifest-like name is walked as a directory, not read.
    ForgetFile(path);
    return;
  }
  FileIdentity identity{status.st_dev, status.st_ino, status.st_size,
                        int64_t{status.st_mtim.tv_sec} * 1'000'000'000 + status.st_mtim.tv_nsec};
  FileState& state = files_[path];
  if (!reread && state.identity == identity) return;
  state.identity = identity;
  if (!S_ISREG(status.st_mode)) {
    // Reading a FIFO would block the agent.
    FailFile(state, {absl::StrCat(path, ": not a regular file")});
    return;
  }
  if (status.st_size > kMaxManifestFileBytes) {
    FailFile(state, {absl::StrCat(path, ": ", status.st_size, " bytes, more than the ",
                                  kMaxManifestFileBytes, " a manifest file may have")});
    return;
  }
  ReadFile(path, state);
}

void DirectorySource::ReadFile(const std::string& path, FileState& state) {
  absl::StatusOr<std::string> contents = ReadWholeFile(path);
  if (!contents.ok()) {
    FailFile(state, {std::string(contents.status().message())});
    return;
  }
  compiler::DecodeResult decoded = compiler::DecodeManifest(path, *contents);
  std::vector<std::string> problems;
  for (const compiler::DecodeError& error : decoded.errors) problems.push_back(error.ToString());
  ObjectLedger::FileObjects objects;
  for (compiler::ClusterObject& object : decoded.objects) {
    ObjectId id = ObjectId::Of(object);
    auto [it, inserted] = objects.emplace(id, object);
    if (!inserted) {
      problems.push_back(
          absl::StrCat(path, ":", LineOf(object), ": ", std::string(compiler::ObjectKind(object)),
                       " ", id.key, " is defined again (first at line ", LineOf(it->second), ")"));
    }
  }
  if (!problems.empty()) {
    FailFile(state, std::move(problems));
    return;
  }
  state.problems.clear();
  ledger_.SetFile(path, std::move(objects));
}

void DirectorySource::FailFile(FileState& state, std::vector<std::string> problems) {
  ++failed_reads_;
  state.problems = std::move(problems);
}

void DirectorySource::ForgetFile(const std::string& path) {
  if (files_.erase(path) > 0) ledger_.SetFile(path, {});
}

void DirectorySource::ForgetTree(const std::string& dir) {
  for (const std::string& path : PathsAtOrBelow(files_, dir)) ForgetFile(path);
  watcher_->Forget(dir);
  for (const std::string& path : PathsAtOrBelow(dir_problems_, dir)) dir_problems_.erase(path);
}

void DirectorySource::CollectErrors() {
  errors_.clear();
  if (watcher_->root_missing()) {
    errors_.push_back({root_, absl::StrCat(root_,
                                           ": directory removed or renamed; its objects "
                                           "stay as they were until it is back")});
  }
  for (const auto& [dir, problem] : dir_problems_) errors_.push_back({dir, problem});
  for (const auto& [path, state] : files_) {
    for (const std::string& problem : state.problems) errors_.push_back({path, problem});
  }
  for (const IgnoredDuplicate& duplicate : ledger_.Duplicates()) {
    errors_.push_back({duplicate.ignored.file,
                       absl::StrCat(duplicate.ignored.file, ":", duplicate.ignored.line, ": ",
                                    duplicate.object, " is also defined in ", duplicate.winner_file,
                                    ", which comes first in path order: this copy is ignored")});
  }
  std::stable_sort(
      errors_.begin(), errors_.end(),
      [](const SourceFileError& a, const SourceFileError& b) { return a.file < b.file; });
}

}  // namespace flatwall::agent
