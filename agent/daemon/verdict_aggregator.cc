#include "agent/daemon/verdict_aggregator.h"

#include <algorithm>
#include <cstring>

namespace flatwall::agent {
namespace {

AggregatedVerdict Single(const fw_event& event) {
  return {event, 1, event.packet_len, event.timestamp_ns, false};
}

}  // namespace

VerdictAggregator::VerdictAggregator(absl::Duration interval)
    : interval_ns_(interval > absl::ZeroDuration()
                       ? static_cast<uint64_t>(absl::ToInt64Nanoseconds(interval))
                       : 0) {}

std::string VerdictAggregator::FlowKey(const fw_event& event) {
  fw_event key = event;
  key.timestamp_ns = 0;
  key.packet_len = 0;
  key.suppressed = 0;
  return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
}

std::vector<AggregatedVerdict> VerdictAggregator::Add(const fw_event& event) {
  if (interval_ns_ == 0) return {Single(event)};
  std::vector<AggregatedVerdict> out;
  std::string key = FlowKey(event);
  auto it = windows_.find(key);
  if (it != windows_.end()) {
    Window& window = it->second;
    if (event.timestamp_ns < window.start_ns + interval_ns_) {
      AggregatedVerdict& repeats = window.repeats;
      if (repeats.packets == 0) repeats = {event, 0, 0, event.timestamp_ns, true};
      repeats.packets += 1;
      repeats.bytes += event.packet_len;
      repeats.end_ns = std::max<uint64_t>(repeats.end_ns, event.timestamp_ns);
      return out;
    }
    if (window.repeats.packets > 0) out.push_back(window.repeats);
    window = Window{event.timestamp_ns};
    out.push_back(Single(event));
    return out;
  }
  if (windows_.size() < kMaxFlows) {
    windows_.emplace(std::move(key), Window{event.timestamp_ns});
  }
  out.push_back(Single(event));
  return out;
}

std::vector<AggregatedVerdict> VerdictAggregator::Flush(uint64_t now_ns, bool everything) {
  std::vector<AggregatedVerdict> out;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (everything || it->second.start_ns + interval_ns_ <= now_ns) {
      if (it->second.repeats.packets > 0) out.push_back(it->second.repeats);
      windows_.erase(it++);
    } else {
      ++it;
    }
  }
  // The map's order is arbitrary; the log's is by time.
  std::sort(out.begin(), out.end(), [](const AggregatedVerdict& a, const AggregatedVerdict& b) {
    return a.event.timestamp_ns < b.event.timestamp_ns;
  });
  return out;
}

}  // namespace flatwall::agent
