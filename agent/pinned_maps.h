// A node's datapath maps opened read-only through their pins, without loading anything:
// for the tools that look at a running agent's state (`flatwall explain --node`). Unlike
// Datapath::Load, opening them neither loads programs nor replaces a pin, and the
// read-only descriptors cannot change a map.
//
// Not here: loading the datapath (datapath.h); reading tables and counters through the
// descriptors (pinned_tables.h, datapath_stats.h).
#ifndef FLATWALL_AGENT_PINNED_MAPS_H_
#define FLATWALL_AGENT_PINNED_MAPS_H_

#include <map>
#include <memory>
#include <string>

#include "abi/datapath_maps.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"

namespace flatwall::agent {

class PinnedMaps {
 public:
  // Opens every map pinned under `root` (those missing stay unopened). NotFound when no
  // Flatwall map is pinned there (or `root` does not exist); PermissionDenied without
  // CAP_BPF; others from the kernel, naming the pin.
  static absl::StatusOr<std::unique_ptr<PinnedMaps>> Open(const std::string& root);

  ~PinnedMaps();
  PinnedMaps(const PinnedMaps&) = delete;
  PinnedMaps& operator=(const PinnedMaps&) = delete;

  const std::string& root() const { return root_; }
  // The map's read-only descriptor; -1 when it is not pinned.
  int map_fd(DatapathMap map) const;
  // fw_config_v1[0]. NotFound when the map is not pinned; errors from the kernel.
  absl::StatusOr<fw_config> ReadConfig() const;

 private:
  explicit PinnedMaps(std::string root) : root_(std::move(root)) {}

  std::string root_;
  std::map<DatapathMap, int> fds_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_PINNED_MAPS_H_
