#include "agent/daemon/tree_watcher.h"

#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace flatwall::agent {
namespace {

// IN_DELETE_SELF / IN_MOVE_SELF matter for the root only: a subdirectory's removal or
// rename is also reported by its parent, with its name.
constexpr uint32_t kDirectoryMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                    IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                    IN_ONLYDIR;
constexpr uint32_t kParentMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;

absl::Status WatchError(const std::string& dir, int error) {
  std::string what = absl::StrCat("watch ", dir, ": ");
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(absl::StrCat(what, "not a directory"));
    case ENOSPC:
      return absl::ResourceExhaustedError(
          absl::StrCat(what, "inotify watch limit reached (fs.inotify.max_user_watches)"));
    default:
      return absl::InternalError(absl::StrCat(what, std::strerror(error)));
  }
}

std::string ParentOf(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

std::string JoinPath(const std::string& dir, const char* name) {
  return dir == "/" ? absl::StrCat("/", name) : absl::StrCat(dir, "/", name);
}

EntryChange ChangeOf(uint32_t mask) {
  if (mask & IN_CLOSE_WRITE) return EntryChange::kWritten;
  if (mask & (IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) return EntryChange::kLinked;
  if (mask & IN_CREATE) return EntryChange::kCreated;
  return EntryChange::kAttributes;
}

}  // namespace

bool IsAtOrBelow(const std::string& path, const std::string& dir) {
  if (path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || dir.back() == '/' || path[dir.size()] == '/';
}

absl::StatusOr<std::unique_ptr<TreeWatcher>> TreeWatcher::Open(const std::string& root) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string what = absl::StrCat("inotify_init1 for ", root, ": ", std::strerror(error));
    return error == EMFILE || error == ENFILE || error == ENOMEM
               ? absl::ResourceExhaustedError(what)
               : absl::InternalError(what);
  }
  std::unique_ptr<TreeWatcher> watcher(new TreeWatcher(fd, root));
  if (absl::Status status = watcher->AddWatch(root, 0); !status.ok()) return status;
  watcher->root_wd_ = watcher->wds_.at(root);
  return watcher;
}

TreeWatcher::TreeWatcher(int fd, std::string root) : fd_(fd), root_(std::move(root)) {}

TreeWatcher::~TreeWatcher() { close(fd_); }

absl::Status TreeWatcher::AddWatch(const std::string& dir, uint32_t extra_flags) {
  int wd = inotify_add_watch(fd_, dir.c_str(), kDirectoryMask | extra_flags);
  if (wd < 0) return WatchError(dir, errno);
  // One inode has one watch: a directory renamed inside the tree keeps its descriptor.
  if (auto old_path = paths_.find(wd); old_path != paths_.end() && old_path->second != dir) {
    wds_.erase(old_path->second);
  }
  // The name now stands for another directory (the old one was moved away): its watch
  // would report the old directory's changes under this name.
  if (auto old_wd = wds_.find(dir); old_wd != wds_.end() && old_wd->second != wd) {
    inotify_rm_watch(fd_, old_wd->second);
    paths_.erase(old_wd->second);
  }
  paths_[wd] = dir;
  wds_[dir] = wd;
  return absl::OkStatus();
}

absl::Status TreeWatcher::Watch(const std::string& dir) {
  if (root_missing_) return absl::NotFoundError(absl::StrCat("watch ", dir, ": root is gone"));
  return AddWatch(dir, IN_DONT_FOLLOW);
}

void TreeWatcher::RemoveWatch(int wd) {
  inotify_rm_watch(fd_, wd);
  auto path = paths_.find(wd);
  if (path == paths_.end()) return;
  wds_.erase(path->second);
  paths_.erase(path);
}

void TreeWatcher::Forget(const std::string& dir) { KeepOnly(dir, {}); }

void TreeWatcher::KeepOnly(const std::string& tree, const std::set<std::string>& keep) {
  for (const std::string& dir : PathsAtOrBelow(wds_, tree)) {
    int wd = wds_.at(dir);
    if (wd != root_wd_ && !keep.count(dir)) RemoveWatch(wd);
  }
}

void TreeWatcher::LoseRoot() {
  root_missing_ = true;
  std::vector<int> all;
  for (const auto& [wd, path] : paths_) all.push_back(wd);
  for (int wd : all) RemoveWatch(wd);
  root_wd_ = -1;
  int parent_wd = inotify_add_watch(fd_, ParentOf(root_).c_str(), kParentMask);
  parent_wd_ = parent_wd >= 0 ? parent_wd : -1;
}

bool TreeWatcher::TryRestoreRoot() {
  int wd = inotify_add_watch(fd_, root_.c_str(), kDirectoryMask);
  if (wd < 0) return false;
  root_missing_ = false;
  root_wd_ = wd;
  paths_[wd] = root_;
  wds_[root_] = wd;
  if (parent_wd_ >= 0) inotify_rm_watch(fd_, parent_wd_);
  parent_wd_ = -1;
  return true;
}

absl::StatusOr<TreeChanges> TreeWatcher::ReadChanges() {
  TreeChanges changes;
  // Large enough for many events per read(); aligned as struct inotify_event requires.
  alignas(struct inotify_event) char buffer[64 * 1024];
  while (true) {
    ssize_t length = read(fd_, buffer, sizeof(buffer));
    if (length < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return absl::InternalError(
          absl::StrCat("read inotify events for ", root_, ": ", std::strerror(errno)));
    }
    if (length == 0) break;
    for (ssize_t offset = 0; offset < length;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + offset);
      offset += sizeof(struct inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        changes.everything = true;
        continue;
      }
      if (event->wd == parent_wd_) continue;  // the root may be back: tried below
      auto dir = paths_.find(event->wd);
      if (dir == paths_.end()) continue;  // a watch already dropped
      if (event->wd == root_wd_ && (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))) {
        LoseRoot();
        continue;
      }
      if (event->mask & IN_IGNORED) {
        wds_.erase(dir->second);
        paths_.erase(dir);
        continue;
      }
      if (event->len == 0) continue;  // the directory's own events: its parent reports them
      std::string path = JoinPath(dir->second, event->name);
      if (event->mask & IN_ISDIR) {
        if (event->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
          changes.directories.insert(path);
        }
        continue;
      }
      EntryChange change = ChangeOf(event->mask);
      auto [entry, inserted] = changes.entries.emplace(path, change);
      if (!inserted) entry->second = std::max(entry->second, change);
    }
  }
  if (root_missing_ && TryRestoreRoot()) changes.everything = true;
  return changes;
}

}  // namespace flatwall::agent
