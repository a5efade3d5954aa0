// DirectorySource: the agent's `--source dir:PATH`. Watches a directory of Kubernetes
// manifests (recursively, with inotify) and turns what it holds into the cluster events the
// Kubernetes watch produces, keeping the last good objects of a file that breaks.
//
// Which entries count: files named *.yaml, *.yml or *.json (IsManifestFileName) and the
// subdirectories below the root, except names starting with '.' (editor swap and lock
// files, the lab's temporary files, the `..data` directories of a ConfigMap volume).
// Symlinks to files are followed, symlinks to directories are not.
//
// Not here: decoding (policy-compiler/manifest_decoder.h), the per-file object bookkeeping
// (object_ledger.h), the inotify descriptors (tree_watcher.h), applying the events
// (reconciler.h).
#ifndef FLATWALL_AGENT_DAEMON_DIRECTORY_SOURCE_H_
#define FLATWALL_AGENT_DAEMON_DIRECTORY_SOURCE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/daemon/cluster_source.h"
#include "agent/daemon/object_ledger.h"
#include "agent/daemon/tree_watcher.h"
#include "policy-compiler/cluster_state.h"

namespace flatwall::agent {

// A problem with one file (or directory) of the source, as of the last Sync.
struct SourceFileError {
  std::string file;     // the path, starting with the root as Open normalized it
  std::string message;  // names the file: "dir/p.yaml:14: spec.ingress[0].ports[1].endPort: ..."

  friend bool operator==(const SourceFileError&, const SourceFileError&) = default;
};

// Larger manifest files are refused without reading them (the API server's request limit
// is 3 MiB; this leaves room for big Lists while bounding the agent's memory).
inline constexpr int64_t kMaxManifestFileBytes = 16 << 20;

// Not thread-safe: one thread calls Sync, typically when fd() polls readable. As a
// ClusterSource it is always complete and healthy: a bad file is a problem (logged and
// counted), not a reason to be unready, since what it held before stays enforced.
class DirectorySource : public ClusterSource {
 public:
  // Starts watching `root` (made absolute; symlinks to it followed). Nothing is read yet.
  // NotFound when root does not exist or is not a directory; ResourceExhausted when the
  // inotify limits are reached.
  static absl::StatusOr<std::unique_ptr<DirectorySource>> Open(const std::string& root);

  // The inotify descriptor: readable when something under the root changed.
  int fd() const override { return watcher_->fd(); }

  // Drains pending notifications, re-reads what changed (everything on the first call)
  // and returns the events that turn the state reported by earlier calls into the
  // directory's current state (ObjectLedger::TakeEvents gives their order and when an
  // object counts as changed).
  //
  // - A file is re-read when it was written, or when its (device, inode, size, mtime) is
  //   not the one last read; every file on the first call and after a notification
  //   queue overflow.
  // - A file that cannot be read or decoded, or that defines an object twice, keeps the
  //   objects of its last good version (they stay enforced; none on a first failure) and
  //   is listed in errors() until it is fixed or removed. A removed file's objects go.
  // - An object in several files: the copy in the file first in path order (byte order of
  //   the paths) counts; the other file is listed in errors(), naming both.
  // - When the root itself is removed or renamed, the objects stay as they are, errors()
  //   says so, and everything is re-read when it is a directory again.
  // Internal only when the inotify descriptor cannot be read; the state is unchanged then.
  absl::StatusOr<EventBatches> Sync() override;

  // The problems as of the last Sync, sorted by file; a file with several problems has
  // several entries.
  const std::vector<SourceFileError>& errors() const { return errors_; }

  // Failed reads and decodes so far, counting each attempt (a metric counter).
  uint64_t failed_reads() const override { return failed_reads_; }

  const std::string& root() const { return root_; }

  bool complete() const override { return true; }
  absl::Status Health() const override { return absl::OkStatus(); }
  // errors(), each saying that the objects the file held before stay enforced.
  std::vector<std::string> Problems() const override;
  std::string Describe() const override { return "dir:" + root_; }

 private:
  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
  };
  struct FileState {
    // As of the last read attempt; all zero when stat() failed, unset before any attempt.
    std::optional<FileIdentity> identity;
    std::vector<std::string> problems;  // empty while the file is good
  };

  DirectorySource(std::string root, std::unique_ptr<TreeWatcher> watcher);

  // Brings everything known below `dir` in line with the disk: watches subdirectories,
  // checks every manifest file, forgets what is gone.
  void ScanTree(const std::string& dir, bool reread);
  void Walk(const std::string& dir, bool reread, std::set<std::string>& seen_files,
            std::set<std::string>& seen_dirs);
  // Checks the manifest files directly in `dir` (a symlink among them may point elsewhere now).
  void ScanListing(const std::string& dir);
  void ApplyEntryChange(const std::string& path, EntryChange change,
                        std::set<std::string>& listings);
  // Re-reads `path` if `reread` or its identity changed; forgets it when it is gone.
  void CheckFile(const std::string& path, bool reread);
  void ReadFile(const std::string& path, FileState& state);
  void FailFile(FileState& state, std::vector<std::string> problems);
  void ForgetFile(const std::string& path);
  void ForgetTree(const std::string& dir);
  void CollectErrors();

  const std::string root_;
  std::unique_ptr<TreeWatcher> watcher_;
  bool synced_ = false;
  std::map<std::string, FileState> files_;           // every manifest file seen, by path
  std::map<std::string, std::string> dir_problems_;  // directories that cannot be listed or watched
  ObjectLedger ledger_;
  std::vector<SourceFileError> errors_;
  uint64_t failed_reads_ = 0;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_DIRECTORY_SOURCE_H_
