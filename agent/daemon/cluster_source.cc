#include "agent/daemon/cluster_source.h"

#include <iterator>
#include <utility>

namespace flatwall::agent {

absl::StatusOr<std::vector<compiler::ClusterEvent>> SyncEvents(ClusterSource& source) {
  absl::StatusOr<EventBatches> synced = source.Sync();
  if (!synced.ok()) return synced.status();
  EventBatches& batches = *synced;
  if (batches.size() == 1) return std::move(batches.front());
  size_t total = 0;
  for (const std::vector<compiler::ClusterEvent>& batch : batches) total += batch.size();
  std::vector<compiler::ClusterEvent> events;
  events.reserve(total);
  for (std::vector<compiler::ClusterEvent>& batch : batches) {
    events.insert(events.end(), std::make_move_iterator(batch.begin()),
                  std::make_move_iterator(batch.end()));
    std::vector<compiler::ClusterEvent>().swap(batch);
  }
  return events;
}

}  // namespace flatwall::agent
