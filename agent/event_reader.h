// Reading verdict events from the fw_events_v1 ring buffer. The programs emit events only
// while fw_config has FW_CFG_EVENTS, which a reader sets when it starts and clears when it
// goes away, so a datapath nobody reads pays one flag test per packet for events.
//
// Not here: turning events into the verdict log (the agent daemon).
#ifndef FLATWALL_AGENT_EVENT_READER_H_
#define FLATWALL_AGENT_EVENT_READER_H_

#include <memory>
#include <vector>

#include "abi/event.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"

struct ring_buffer;

namespace flatwall::agent {

class EventReader {
 public:
  // Opens the ring buffer and sets FW_CFG_EVENTS. One reader per datapath at a time: the
  // flag is shared. Errors from the kernel.
  static absl::StatusOr<std::unique_ptr<EventReader>> Start(const Datapath& datapath);

  // Clears FW_CFG_EVENTS (best effort) and closes the ring buffer.
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // Returns the events available now, waiting up to `timeout_ms` for the first one
  // (0: do not wait). Errors from the kernel.
  absl::StatusOr<std::vector<fw_event>> Poll(int timeout_ms);

  // An epoll descriptor that is readable while events are waiting, for the caller's own
  // poll loop (then Poll(0)).
  int fd() const;

 private:
  EventReader(const Datapath& datapath, ring_buffer* ring);
  static int OnEvent(void* context, void* data, size_t size);

  const Datapath& datapath_;
  ring_buffer* ring_;
  std::vector<fw_event> pending_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_EVENT_READER_H_
