#include "agent/event_reader.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {

EventReader::EventReader(const Datapath& datapath, ring_buffer* ring)
    : datapath_(datapath), ring_(ring) {}

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::Start(const Datapath& datapath) {
  std::unique_ptr<EventReader> reader(new EventReader(datapath, nullptr));
  reader->ring_ = ring_buffer__new(datapath.map_fd(DatapathMap::kEvents), &EventReader::OnEvent,
                                   reader.get(), nullptr);
  if (reader->ring_ == nullptr) {
    return BpfError(errno, absl::StrCat("open ring buffer ", FW_PIN_EVENTS));
  }
  FW_ASSIGN_OR_RETURN(fw_config config, datapath.ReadConfig());
  config.flags |= FW_CFG_EVENTS;
  FW_RETURN_IF_ERROR(datapath.WriteConfig(config));
  return reader;
}

EventReader::~EventReader() {
  if (absl::StatusOr<fw_config> config = datapath_.ReadConfig(); config.ok()) {
    config->flags &= ~FW_CFG_EVENTS;
    (void)datapath_.WriteConfig(*config);
  }
  if (ring_ != nullptr) ring_buffer__free(ring_);
}

int EventReader::OnEvent(void* context, void* data, size_t size) {
  auto* reader = static_cast<EventReader*>(context);
  fw_event event{};
  std::memcpy(&event, data, std::min(size, sizeof(event)));
  reader->pending_.push_back(event);
  return 0;
}

absl::StatusOr<std::vector<fw_event>> EventReader::Poll(int timeout_ms) {
  // ring_buffer__poll reads only rings that signalled; records submitted without a
  // wake-up are collected by the consume after it.
  int err = timeout_ms > 0 ? ring_buffer__poll(ring_, timeout_ms) : 0;
  if (err >= 0 || err == -EINTR) err = ring_buffer__consume(ring_);
  if (err < 0 && err != -EINTR) {
    return BpfError(err, absl::StrCat("read ring buffer ", FW_PIN_EVENTS));
  }
  return std::exchange(pending_, {});
}

int EventReader::fd() const { return ring_buffer__epoll_fd(ring_); }

}  // namespace flatwall::agent
