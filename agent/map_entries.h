// Walking every entry of a hash map or LPM trie through a file descriptor, for readers of
// a datapath's maps (the pinned tables, `flatwall status`).
//
// Not here: opening the maps (datapath.h, pinned_maps.h); what the entries mean.
#ifndef FLATWALL_AGENT_MAP_ENTRIES_H_
#define FLATWALL_AGENT_MAP_ENTRIES_H_

#include <bpf/bpf.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

namespace flatwall::agent {

// Calls visit(key, value) for every entry. get_next_key works for both map kinds (LPM
// tries support no batch operations) and any size; a key deleted between the two calls is
// skipped, and a hash walk that restarts after a concurrent delete may repeat keys (the
// caller de-duplicates where that matters). `name` is for messages. Errors from the kernel.
template <typename Key, typename Value, typename Visit>
absl::Status ForEachMapEntry(int fd, const std::string& name, Visit visit) {
  Key key{};
  Value value{};
  for (int err = bpf_map_get_next_key(fd, nullptr, &key); err == 0;
       err = bpf_map_get_next_key(fd, &key, &key)) {
    if (bpf_map_lookup_elem(fd, &key, &value) != 0) {
      if (errno == ENOENT) continue;
      return BpfError(errno, absl::StrCat("read map ", name));
    }
    visit(key, value);
  }
  if (errno != ENOENT) return BpfError(errno, absl::StrCat("iterate map ", name));
  return absl::OkStatus();
}

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_MAP_ENTRIES_H_
