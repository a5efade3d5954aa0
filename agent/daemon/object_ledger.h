// ObjectLedger: the objects each manifest file holds, which copy the cluster sees when
// several files hold the same object (the file first in path order wins), and the events
// that bring the state reported so far up to date. Pure bookkeeping: no I/O, no clock.
//
// Not here: watching, reading or decoding files (directory_source.h).
#ifndef FLATWALL_AGENT_DAEMON_OBJECT_LEDGER_H_
#define FLATWALL_AGENT_DAEMON_OBJECT_LEDGER_H_

#include <compare>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "policy-compiler/cluster_state.h"
#include "policy-compiler/model.h"

namespace flatwall::agent {

// What makes two objects the same object: kind and ObjectKey. Ordered by kind in
// ClusterObject order (Namespace, Pod, Service, NetworkPolicy), then by key.
struct ObjectId {
  std::size_t kind = 0;  // index of the ClusterObject alternative
  std::string key;       // compiler::ObjectKey

  static ObjectId Of(const compiler::ClusterObject& object);

  friend auto operator<=>(const ObjectId&, const ObjectId&) = default;
  friend bool operator==(const ObjectId&, const ObjectId&) = default;
};

// A copy of an object that is ignored because a file earlier in path order holds it too.
struct IgnoredDuplicate {
  std::string object;                // "NetworkPolicy x/deny-all"
  compiler::SourceLocation ignored;  // where the ignored copy is
  std::string winner_file;           // the file whose copy counts
};

class ObjectLedger {
 public:
  using FileObjects = std::map<ObjectId, compiler::ClusterObject>;

  // From now on `file` holds exactly `objects` (none: as if the file did not exist).
  void SetFile(const std::string& file, FileObjects objects);

  // The events that turn the state reported by earlier calls into the current one:
  // an upsert for each object that is new or differs from its reported copy, a delete for
  // each reported object that no file holds any more. Copies that differ only in their
  // source line are equal (an object moved inside its file is not re-reported); a copy
  // from another file is not (the source file is what logs name). Order: upserts first,
  // Namespaces, Pods, Services, NetworkPolicies, each by key; then deletes in the reverse
  // kind order (NetworkPolicies first), each by key. The compiler accepts any order; this
  // one is deterministic and adds before it removes.
  std::vector<compiler::ClusterEvent> TakeEvents();

  // Every ignored copy, sorted by its file, then by ObjectId.
  std::vector<IgnoredDuplicate> Duplicates() const;

 private:
  const compiler::ClusterObject& WinningCopy(const ObjectId& id) const;

  std::map<std::string, FileObjects> files_;
  // For every object some file holds: the files holding it, in path order.
  std::map<ObjectId, std::set<std::string>> holders_;
  std::set<ObjectId> duplicated_;  // the holders_ keys with more than one file
  std::set<ObjectId> touched_;     // objects whose holders or copies changed since TakeEvents
  std::map<ObjectId, compiler::ClusterObject> reported_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_OBJECT_LEDGER_H_
