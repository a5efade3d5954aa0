// TreeWatcher: one inotify instance watching a root directory and the subdirectories its
// owner adds, reporting which paths changed since the last call. The owner decides which
// entries matter and which subdirectories to watch (Watch / Forget / KeepOnly as it
// scans); the watcher only keeps the watch descriptors and their paths straight, also
// across renames, and notices when the root itself goes away and comes back.
//
// Not here: reading files or deciding what a name means (directory_source.h).
#ifndef FLATWALL_AGENT_DAEMON_TREE_WATCHER_H_
#define FLATWALL_AGENT_DAEMON_TREE_WATCHER_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatwall::agent {

// What happened to a non-directory entry; when several things did, the strongest.
enum class EntryChange {
  kAttributes,  // metadata only (chmod, touch): worth a stat
  kCreated,     // a new name, perhaps still being written (its close-after-write follows)
  kLinked,      // renamed in or out, or removed
  kWritten,     // closed after writing: its contents changed
};

struct TreeChanges {
  // Notifications were lost (queue overflow) or the root came back: look at everything.
  bool everything = false;
  // Subdirectories created, removed or renamed in or out (their own paths).
  std::set<std::string> directories;
  // Other entries (files, symlinks, ...) of watched directories, by path.
  std::map<std::string, EntryChange> entries;
};

class TreeWatcher {
 public:
  // Watches `root` (symlinks to it followed). NotFound when it is not a directory,
  // ResourceExhausted when the inotify limits are reached, Internal otherwise.
  static absl::StatusOr<std::unique_ptr<TreeWatcher>> Open(const std::string& root);
  ~TreeWatcher();
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

  // Readable (poll/epoll) when ReadChanges has something to report.
  int fd() const { return fd_; }

  // Drains every pending notification without blocking. While the root is missing, each
  // call also tries to watch it again (and reports `everything` when that works). Internal
  // when reading the inotify descriptor fails.
  absl::StatusOr<TreeChanges> ReadChanges();

  // True from the moment the root is removed or renamed until it is a directory again.
  // Every watch is dropped meanwhile; the root's parent directory is watched for its return
  // (when the parent is gone too, only calls to ReadChanges notice it).
  bool root_missing() const { return root_missing_; }

  // Watches the subdirectory `dir` of a watched directory (symlinks not followed).
  // NotFound when it is not a directory, ResourceExhausted when the watch limit is reached
  // (fs.inotify.max_user_watches), Internal otherwise.
  absl::Status Watch(const std::string& dir);
  // Stops watching `dir` and everything below it (never the root).
  void Forget(const std::string& dir);
  // Stops watching what is below `tree` (and `tree` itself) except `keep`.
  void KeepOnly(const std::string& tree, const std::set<std::string>& keep);

 private:
  TreeWatcher(int fd, std::string root);
  absl::Status AddWatch(const std::string& dir, uint32_t extra_flags);
  void RemoveWatch(int wd);
  void LoseRoot();
  bool TryRestoreRoot();

  const int fd_;
  const std::string root_;
  int root_wd_ = -1;
  int parent_wd_ = -1;  // while the root is missing
  bool root_missing_ = false;
  std::map<int, std::string> paths_;  // watch descriptor -> directory
  std::map<std::string, int> wds_;    // directory -> watch descriptor
};

// True when `path` is `dir` or lies below it (compares paths as strings: no I/O).
bool IsAtOrBelow(const std::string& path, const std::string& dir);

// The keys of `by_path` that are `dir` or lie below it, in order. They are not one
// contiguous range ("a-b" and "a.yaml" sort between "a" and "a/x"), but they all start
// with `dir`, and those are.
template <typename Value>
std::vector<std::string> PathsAtOrBelow(const std::map<std::string, Value>& by_path,
                                        const std::string& dir) {
  std::vector<std::string> paths;
  for (auto it = by_path.lower_bound(dir);
       it != by_path.end() && it->first.compare(0, dir.size(), dir) == 0; ++it) {
    if (IsAtOrBelow(it->first, dir)) paths.push_back(it->first);
  }
  return paths;
}

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_TREE_WATCHER_H_
