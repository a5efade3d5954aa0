// The verdict log from events to sealed lines in files: each batch of datapath events is
// attributed with the tables in force at each packet's time (verdict_history.h), preceded
// by a SUPPRESSED record where the kernel dropped events, aggregated per flow and interval
// (verdict_aggregator.h), sealed into the hash chain (verdict_chain.h) and written with
// rotation (verdict_log_writer.h). The agent daemon owns one and feeds it.
//
// Not here: reading the ring buffer (agent/event_reader.h). Not thread-safe.
#ifndef FLATWALL_AGENT_DAEMON_VERDICT_LOG_PIPELINE_H_
#define FLATWALL_AGENT_DAEMON_VERDICT_LOG_PIPELINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/event.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/daemon/verdict_aggregator.h"
#include "agent/daemon/verdict_chain.h"
#include "agent/daemon/verdict_history.h"
#include "agent/daemon/verdict_log.h"
#include "agent/daemon/verdict_log_writer.h"
#include "policy-compiler/map_image.h"

namespace flatwall::agent {

struct VerdictPipelineOptions {
  VerdictLogOptions log;
  std::string node_name;
  // Repeats of a flow within this interval become one record; 0 logs every event.
  absl::Duration aggregate_interval = absl::Seconds(5);
};

class VerdictLogPipeline {
 public:
  // Opens the log, continues the chain from its last record (RecoverChainLink; stdout
  // starts a fresh chain) and writes a STARTUP record. A last record that is not a
  // sealed one does not stop the agent: the chain restarts at seq 1 and the STARTUP
  // record says why in "chain_restart", which verification then reports.
  // Errors: those of VerdictLogWriter::Open and of writing; the errno's code when the
  // existing log cannot be read.
  static absl::StatusOr<std::unique_ptr<VerdictLogPipeline>> Open(
      const VerdictPipelineOptions& options);

  // Writes the aggregates still open (best effort).
  ~VerdictLogPipeline();
  VerdictLogPipeline(const VerdictLogPipeline&) = delete;
  VerdictLogPipeline& operator=(const VerdictLogPipeline&) = delete;

  // `image` is what the datapath enforces from monotonic instant `valid_from_ns` on
  // (the start of the write that installed it).
  void SetImage(const compiler::MapImage& image, uint64_t valid_from_ns);

  // Logs a batch of events (in the order read), then flushes the file. `offset` turns
  // their monotonic times into wall times (ReadClockOffset once per batch).
  // Errors: the writer's; lines sealed but not written leave a gap that verification
  // reports.
  absl::Status Write(const std::vector<fw_event>& events, const ClockOffset& offset);
  absl::Status Write(const std::vector<fw_event>& events);

  // Writes the aggregates whose interval has ended by monotonic instant `now_ns`.
  absl::Status Flush(uint64_t now_ns, const ClockOffset& offset);
  absl::Status Flush();  // now, with the current clock offset

  const ChainLink& last_link() const { return link_; }

 private:
  VerdictLogPipeline(const VerdictPipelineOptions& options,
                     std::unique_ptr<VerdictLogWriter> writer, ChainLink link);
  void AppendAggregated(const AggregatedVerdict& verdict, const ClockOffset& offset,
                        std::vector<std::string>& lines);

  std::string node_name_;
  std::unique_ptr<VerdictLogWriter> writer_;
  ChainLink link_;
  VerdictHistory history_;
  VerdictAggregator aggregator_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_VERDICT_LOG_PIPELINE_H_
