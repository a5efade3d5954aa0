// The lab's desired cluster state: every manifest given to `lab up` and `lab apply`, kept
// verbatim as units — one YAML document (or one JSON file) each — named after the objects
// they hold. A later unit holding the same objects replaces an earlier one, and
// `lab apply --delete` removes units, so the agents' manifest directories (one file per
// unit) change exactly where the cluster changed, as a watch would report it.
//
// A List object is one unit; it can be replaced or deleted only as a whole.
//
// Not here: decoding objects (policy-compiler/manifest_decoder.h); what the lab builds
// from them (topology_plan.h).
#ifndef FLATWALL_AGENT_LAB_MANIFEST_UNITS_H_
#define FLATWALL_AGENT_LAB_MANIFEST_UNITS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "policy-compiler/cluster_state.h"

namespace flatwall::lab {

struct ManifestUnit {
  // Unique among units, from the first object: "pod.x.a.yaml", "namespace.x.yaml",
  // "list.pod.x.a.json" for a List. Keeps the extension of the file it came from.
  std::string file_name;
  std::string text;                     // the document, as given
  std::vector<std::string> object_ids;  // "Pod x/a", "Namespace x"; sorted
};

// "<Kind> <namespace/name>" (or "<Kind> <name>" for a Namespace).
std::string ObjectId(const compiler::ClusterObject& object);

// Reads manifest files, and directories (their *.yaml, *.yml and *.json files,
// recursively, in name order), into units in the order given. Documents without objects
// are skipped. NotFound when a path does not exist; InvalidArgument listing every decode
// error ("file:line: field: message") when any object is invalid — nothing is half-read.
absl::StatusOr<std::vector<ManifestUnit>> ReadManifestUnits(const std::vector<std::string>& paths);

class DesiredManifests {
 public:
  // The units saved in `dir` by Save (none when `dir` does not exist). Internal when a
  // file cannot be read or no longer decodes.
  static absl::StatusOr<DesiredManifests> Load(const std::string& dir);

  // Adds each unit in order, replacing every earlier unit whose objects it all holds.
  // FailedPrecondition, with nothing changed, when a unit holds only some of the objects
  // of an earlier List unit.
  absl::Status Apply(const std::vector<ManifestUnit>& units);

  // Removes the objects the units hold. NotFound when one is not in the desired state;
  // FailedPrecondition when one is part of a List unit with objects not being deleted.
  // Nothing changes on error.
  absl::Status Delete(const std::vector<ManifestUnit>& units);

  // By file name.
  const std::map<std::string, ManifestUnit>& units() const { return units_; }
  // File name -> text, for SyncDirectory.
  std::map<std::string, std::string> Files() const;

  // Every object of every unit. Units decoded before they were accepted, so this cannot
  // fail.
  compiler::ClusterState State() const;

 private:
  std::map<std::string, ManifestUnit> units_;
};

// Makes `dir` (created if missing) hold exactly `files` among its *.yaml, *.yml and *.json
// files: writes the new and changed ones (to a temporary name, then renamed, so a watcher
// never reads half a file) and removes the others. Internal on a write error.
absl::Status SyncDirectory(const std::string& dir, const std::map<std::string, std::string>& files);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_MANIFEST_UNITS_H_
