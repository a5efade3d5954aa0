#include "agent/daemon/verdict_log_pipeline.h"

#include <utility>

#include "absl/time/clock.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {

absl::StatusOr<std::unique_ptr<VerdictLogPipeline>> VerdictLogPipeline::Open(
    const VerdictPipelineOptions& options) {
  ChainLink link;
  std::string chain_restart;
  if (options.log.path != "-") {
    absl::StatusOr<ChainLink> recovered = RecoverChainLink(options.log.path);
    if (recovered.ok()) {
      link = *std::move(recovered);
    } else if (absl::IsDataLoss(recovered.status())) {
      chain_restart = std::string(recovered.status().message());
    } else {
      return recovered.status();
    }
  }
  FW_ASSIGN_OR_RETURN(std::unique_ptr<VerdictLogWriter> writer,
                      VerdictLogWriter::Open(options.log));
  std::unique_ptr<VerdictLogPipeline> pipeline(
      new VerdictLogPipeline(options, std::move(writer), std::move(link)));
  nlohmann::json startup = StartupRecord(options.node_name, absl::Now());
  if (!chain_restart.empty()) startup["chain_restart"] = chain_restart;
  FW_RETURN_IF_ERROR(pipeline->writer_->Write({SealRecord(startup, pipeline->link_)}));
  return pipeline;
}

VerdictLogPipeline::VerdictLogPipeline(const VerdictPipelineOptions& options,
                                       std::unique_ptr<VerdictLogWriter> writer, ChainLink link)
    : node_name_(options.node_name),
      writer_(std::move(writer)),
      link_(std::move(link)),
      history_(options.node_name),
      aggregator_(options.aggregate_interval) {}

VerdictLogPipeline::~VerdictLogPipeline() {
  absl::StatusOr<ClockOffset> offset = ReadClockOffset();
  if (!offset.ok()) return;
  std::vector<std::string> lines;
  for (const AggregatedVerdict& verdict : aggregator_.Flush(0, /*everything=*/true)) {
    AppendAggregated(verdict, *offset, lines);
  }
  if (!lines.empty()) (void)writer_->Write(lines);
}

void VerdictLogPipeline::SetImage(const compiler::MapImage& image, uint64_t valid_from_ns) {
  history_.Add(std::make_shared<const VerdictSnapshot>(image, node_name_), valid_from_ns);
}

void VerdictLogPipeline::AppendAggregated(const AggregatedVerdict& verdict,
                                          const ClockOffset& offset,
                                          std::vector<std::string>& lines) {
  nlohmann::json record =
      VerdictEventToJson(verdict.event, history_.At(verdict.event.timestamp_ns), offset);
  if (verdict.aggregate) {
    record["time_end"] = FormatRfc3339Nanos(MonotonicToWall(verdict.end_ns, offset));
    record["packets"] = verdict.packets;
    record["bytes"] = verdict.bytes;
  }
  lines.push_back(SealRecord(record, link_));
}

absl::Status VerdictLogPipeline::Write(const std::vector<fw_event>& events,
                                       const ClockOffset& offset) {
  std::vector<std::string> lines;
  lines.reserve(events.size());
  for (const fw_event& event : events) {
    const VerdictSnapshot& snapshot = history_.At(event.timestamp_ns);
    // Before the event: the suppressed ones happened before it.
    if (std::optional<nlohmann::json> suppressed = SuppressedRecord(event, snapshot, offset)) {
      lines.push_back(SealRecord(*suppressed, link_));
    }
    for (const AggregatedVerdict& verdict : aggregator_.Add(event)) {
      AppendAggregated(verdict, offset, lines);
    }
  }
  if (lines.empty()) return absl::OkStatus();
  return writer_->Write(lines);
}

absl::Status VerdictLogPipeline::Write(const std::vector<fw_event>& events) {
  FW_ASSIGN_OR_RETURN(ClockOffset offset, ReadClockOffset());
  return Write(events, offset);
}

absl::Status VerdictLogPipeline::Flush(uint64_t now_ns, const ClockOffset& offset) {
  std::vector<std::string> lines;
  for (const AggregatedVerdict& verdict : aggregator_.Flush(now_ns)) {
    AppendAggregated(verdict, offset, lines);
  }
  if (lines.empty()) return absl::OkStatus();
  return writer_->Write(lines);
}

absl::Status VerdictLogPipeline::Flush() {
  FW_ASSIGN_OR_RETURN(ClockOffset offset, ReadClockOffset());
  return Flush(MonotonicNowNs(), offset);
}

}  // namespace flatwall::agent
