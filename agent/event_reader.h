// Reading verdict events from the fw_events_v1 ring buffer. The programs emit events only
// while fw_config has FW_CFG_EVENTS, which a reader sets when it starts and clears when it
// goes away, so a datapath nobody reads pays one flag test per packet for events.
//
// Wake-ups are batched: the programs signal the reader only once FW_EVENT_WAKEUP_BYTES
// (1/16 of the ring, datapath/bpf/lib/events.h) are pending, so a reader must also
// collect on a timer — call Poll at least every kEventDrainIntervalMs — and then gets
// every event within that interval (plus its own processing time).
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

// The longest a reader may leave events it was not woken for in the ring: the bound on
// a verdict event's delay before it is read.
inline constexpr int kEventDrainIntervalMs = 100;

class EventReader {
 public:
  // Opens the ring buffer and sets FW_CFG_EVENTS. One reader per datapath at a time: the
  // flag is shared. Errors from the kernel.
  static absl::StatusOr<std::unique_ptr<EventReader>> Start(const Datapath& datapath);

  // Clears FW_CFG_EVENTS (best effort) and closes the ring buffer.
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // Waits up to `timeout_ms` for a wake-up (0: do not wait), then returns every event
  // in the ring, whether or not the datapath signalled it. Errors from the kernel.
  absl::StatusOr<std::vector<fw_event>> Poll(int timeout_ms);

  // An epoll descriptor that becomes readable when the datapath signals a backlog, for
  // the caller's own poll loop: wait on it for at most kEventDrainIntervalMs, then
  // Poll(0) whether it became readable or not.
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
