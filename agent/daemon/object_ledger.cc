#include "agent/daemon/object_ledger.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"

namespace flatwall::agent {
namespace {

const compiler::SourceLocation& SourceOf(const compiler::ClusterObject& object) {
  return std::visit(
      [](const auto& typed) -> const compiler::SourceLocation& { return typed.source; }, object);
}

// Equal except perhaps for the source line.
bool SameIgnoringLine(const compiler::ClusterObject& a, const compiler::ClusterObject& b) {
  if (a.index() != b.index()) return false;
  compiler::ClusterObject b_at_a_line = b;
  std::visit([&](auto& typed) { typed.source.line = SourceOf(a).line; }, b_at_a_line);
  return a == b_at_a_line;
}

}  // namespace

ObjectId ObjectId::Of(const compiler::ClusterObject& object) {
  return ObjectId{object.index(), compiler::ObjectKey(object)};
}

void ObjectLedger::SetFile(const std::string& file, FileObjects objects) {
  std::set<ObjectId> changed;
  if (auto old = files_.find(file); old != files_.end()) {
    for (const auto& [id, object] : old->second) {
      holders_[id].erase(file);
      changed.insert(id);
    }
    files_.erase(old);
  }
  for (const auto& [id, object] : objects) {
    holders_[id].insert(file);
    changed.insert(id);
  }
  if (!objects.empty()) files_[file] = std::move(objects);
  for (const ObjectId& id : changed) {
    auto holders = holders_.find(id);
    std::size_t count = holders->second.size();
    if (count == 0) holders_.erase(holders);
    if (count > 1) {
      duplicated_.insert(id);
    } else {
      duplicated_.erase(id);
    }
    touched_.insert(id);
  }
}

const compiler::ClusterObject& ObjectLedger::WinningCopy(const ObjectId& id) const {
  const std::string& winner = *holders_.at(id).begin();
  return files_.at(winner).at(id);
}

std::vector<compiler::ClusterEvent> ObjectLedger::TakeEvents() {
  std::vector<compiler::ClusterEvent> upserts;
  std::vector<compiler::ClusterEvent> deletes;
  // touched_ is ordered by (kind, key): the upsert order.
  for (const ObjectId& id : touched_) {
    auto reported = reported_.find(id);
    if (!holders_.count(id)) {
      if (reported == reported_.end()) continue;
      deletes.push_back({compiler::ClusterEvent::kDelete, std::move(reported->second)});
      reported_.erase(reported);
      continue;
    }
    const compiler::ClusterObject& copy = WinningCopy(id);
    if (reported != reported_.end() && SameIgnoringLine(reported->second, copy)) continue;
    reported_[id] = copy;
    upserts.push_back({compiler::ClusterEvent::kUpsert, copy});
  }
  touched_.clear();
  std::stable_sort(deletes.begin(), deletes.end(),
                   [](const compiler::ClusterEvent& a, const compiler::ClusterEvent& b) {
                     return a.object.index() > b.object.index();
                   });
  upserts.insert(upserts.end(), std::make_move_iterator(deletes.begin()),
                 std::make_move_iterator(deletes.end()));
  return upserts;
}

std::vector<IgnoredDuplicate> ObjectLedger::Duplicates() const {
  std::vector<IgnoredDuplicate> duplicates;
  for (const ObjectId& id : duplicated_) {
    const std::set<std::string>& files = holders_.at(id);
    for (auto file = std::next(files.begin()); file != files.end(); ++file) {
      const compiler::ClusterObject& copy = files_.at(*file).at(id);
      duplicates.push_back({absl::StrCat(std::string(compiler::ObjectKind(copy)), " ", id.key),
                            SourceOf(copy), *files.begin()});
    }
  }
  std::stable_sort(duplicates.begin(), duplicates.end(),
                   [](const IgnoredDuplicate& a, const IgnoredDuplicate& b) {
                     return a.ignored.file < b.ignored.file;
                   });
  return duplicates;
}

}  // namespace flatwall::agent
