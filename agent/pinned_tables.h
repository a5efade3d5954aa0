// Reading back what the pinned maps hold: the four policy tables as a compiler::MapImage
// and the Service addresses. A restarted agent diffs this against its freshly compiled
// image (compiler::DiffImages(pinned, desired)) and writes only the difference, so it
// reconciles without flushing and enforcement never lapses.
//
// Not here: writing the tables (map_writer.h), the veth bindings (veth_binding.h).
#ifndef FLATWALL_AGENT_PINNED_TABLES_H_
#define FLATWALL_AGENT_PINNED_TABLES_H_

#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "agent/pinned_maps.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/map_image.h"

namespace flatwall::agent {

// The endpoints, IP cache, CIDR and rule maps as they are in the kernel: only those four
// vectors of the image are filled, each sorted by compiler::AbiLess of its key and free
// of duplicates, as MapImage requires; the info tables stay empty (they are not in the
// kernel). Meant for a moment nobody writes the maps (agent start-up). Errors from the
// kernel (Internal, PermissionDenied, ...) naming the map.
absl::StatusOr<compiler::MapImage> ReadPinnedTables(const Datapath& datapath);
// The same through another process's pins, opened read-only; read while the agent may be
// writing, so a table being updated can be caught half-way. NotFound when one of the
// four maps is not pinned.
absl::StatusOr<compiler::MapImage> ReadPinnedTables(const PinnedMaps& maps);

// The ClusterIPs in fw_services_v1, sorted. Errors from the kernel.
absl::StatusOr<std::vector<compiler::IpAddress>> ReadPinnedServices(const Datapath& datapath);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_PINNED_TABLES_H_
