#include "agent/daemon/agent_metrics.h"

#include <algorithm>
#include <string>
#include <vector>

#include "agent/daemon/verdict_log.h"
#include "agent/datapath_stats.h"
#include "agent/verdict_names.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// The setters below cannot fail: each passes exactly the label values its family was
// registered with, so their Status is always OK and is dropped on purpose.
void Ignore(const absl::Status&) {}

struct CountedMap {
  DatapathMap map;
  bool walk;  // false: the image's size is the count
};

constexpr CountedMap kCountedMaps[] = {
    {DatapathMap::kEndpoints, true}, {DatapathMap::kIpcache, true},
    {DatapathMap::kCidrs, false},    {DatapathMap::kRules, false},
    {DatapathMap::kRuleRanges, false},
    {DatapathMap::kServices, true},  {DatapathMap::kVethBig, true},
    {DatapathMap::kConntrack, true}, {DatapathMap::kFragments, true},
    {DatapathMap::kCounters, true},  {DatapathMap::kEventRate, true},
};

}  // namespace

absl::StatusOr<std::unique_ptr<AgentMetrics>> AgentMetrics::Create(MetricsRegistry& registry) {
  std::unique_ptr<AgentMetrics> metrics(new AgentMetrics());
  const std::vector<double> latency(std::begin(kLatencyBucketsSeconds),
                                    std::end(kLatencyBucketsSeconds));
  FW_ASSIGN_OR_RETURN(metrics->endpoints_,
                      registry.AddGauge("flatwall_endpoints",
                                        "Local pod addresses in the enforced policy state."));
  FW_ASSIGN_OR_RETURN(metrics->identities_,
                      registry.AddGauge("flatwall_identities",
                                        "Identities (equal namespace and pod labels) in the "
                                        "enforced policy state."));
  FW_ASSIGN_OR_RETURN(metrics->rules_,
                      registry.AddGauge("flatwall_rules",
                                        "NetworkPolicy ingress and egress rules in the "
                                        "enforced policy state."));
  FW_ASSIGN_OR_RETURN(metrics->map_entries_,
                      registry.AddGauge("flatwall_map_entries",
                                        "Entries in a pinned BPF map.", {"map"}));
  FW_ASSIGN_OR_RETURN(metrics->map_capacity_,
                      registry.AddGauge("flatwall_map_capacity",
                                        "max_entries of a pinned BPF map.", {"map"}));
  FW_ASSIGN_OR_RETURN(metrics->compile_seconds_,
                      registry.AddHistogram("flatwall_compile_seconds",
                                            "Time to compile the cluster state into tables.",
                                            latency));
  FW_ASSIGN_OR_RETURN(metrics->apply_seconds_,
                      registry.AddHistogram("flatwall_apply_seconds",
                                            "Time to write a table diff into the maps.",
                                            latency));
  FW_ASSIGN_OR_RETURN(metrics->verdicts_,
                      registry.AddCounter("flatwall_verdicts_total",
                                          "Packets decided by the datapath, by verdict and "
                                          "reason (packets of established flows included).",
                                          {"verdict", "reason"}));
  FW_ASSIGN_OR_RETURN(metrics->events_suppressed_,
                      registry.AddCounter("flatwall_events_suppressed_total",
                                          "Verdict events the per-endpoint rate limit did "
                                          "not emit."));
  FW_ASSIGN_OR_RETURN(metrics->ringbuf_lost_,
                      registry.AddCounter("flatwall_ringbuf_lost_total",
                                          "Verdict events lost because the ring buffer was "
                                          "full."));
  FW_ASSIGN_OR_RETURN(metrics->source_errors_,
                      registry.AddCounter("flatwall_source_errors_total",
                                          "Errors reading the cluster state source."));
  FW_ASSIGN_OR_RETURN(metrics->source_synced_,
                      registry.AddGauge("flatwall_source_synced_timestamp_seconds",
                                        "Unix time of the source read the enforced state "
                                        "reflects."));
  FW_ASSIGN_OR_RETURN(metrics->veths_,
                      registry.AddGauge("flatwall_veths",
                                        "Local pods by the state of their host-side veth.",
                                        {"state"}));
  struct WatchCounter {
    MetricFamily** family;
    const char* name;
    const char* help;
  };
  const WatchCounter watch_counters[] = {
      {&metrics->apiwatch_lists_, "flatwall_apiwatch_lists_total",
       "Complete lists of a Kubernetes API resource (the first and every relist)."},
      {&metrics->apiwatch_watches_, "flatwall_apiwatch_watches_total",
       "Watch requests started on a Kubernetes API resource."},
      {&metrics->apiwatch_relists_, "flatwall_apiwatch_relists_total",
       "410 Gone answers (resourceVersion expired), each followed by a relist."},
      {&metrics->apiwatch_failures_, "flatwall_apiwatch_failures_total",
       "Lists and watches that failed (connection, timeout, 4xx, 5xx), each retried."},
      {&metrics->apiwatch_malformed_, "flatwall_apiwatch_malformed_total",
       "Watch lines and list items skipped because they did not decode."},
      {&metrics->apiwatch_events_, "flatwall_apiwatch_events_total",
       "Add/update/delete events a resource's list or watch gave the agent."},
  };
  for (const WatchCounter& counter : watch_counters) {
    FW_ASSIGN_OR_RETURN(*counter.family,
                        registry.AddCounter(counter.name, counter.help, {"resource"}));
  }
  FW_ASSIGN_OR_RETURN(metrics->apiwatch_last_success_,
                      registry.AddGauge("flatwall_apiwatch_last_success_timestamp_seconds",
                                        "Unix time of a resource's last list or watch that "
                                        "went well.",
                                        {"resource"}));
  // Series that exist from the start, so a dashboard sees 0 rather than no data.
  Ignore(metrics->source_errors_->Add({}, 0));
  metrics->SetVeths(0, 0);
  return metrics;
}

void AgentMetrics::SetPolicyState(const compiler::MapImage& enforced) {
  Ignore(endpoints_->Set({}, enforced.endpoint_info.size()));
  Ignore(identities_->Set({}, enforced.identities.size()));
  Ignore(rules_->Set({}, enforced.rule_table.size()));
}

void AgentMetrics::ObserveCompileSeconds(double seconds) {
  Ignore(compile_seconds_->Observe({}, seconds));
}

void AgentMetrics::ObserveApplySeconds(double seconds) {
  Ignore(apply_seconds_->Observe({}, seconds));
}

void AgentMetrics::AddSourceError() { Ignore(source_errors_->Add({}, 1)); }

void AgentMetrics::SetSourceSynced(absl::Time read_at) {
  // One division of exact integers rounds once; ToDoubleSeconds of a 56-year Duration
  // sums its parts and is off in the last digits.
  Ignore(source_synced_->Set({}, static_cast<double>(absl::ToUnixMicros(read_at)) / 1e6));
}

void AgentMetrics::SetVeths(size_t attached, size_t waiting) {
  Ignore(veths_->Set({"attached"}, attached));
  Ignore(veths_->Set({"waiting"}, waiting));
}

void AgentMetrics::SetWatchStats(const std::vector<ResourceWatchStats>& stats) {
  for (const ResourceWatchStats& resource : stats) {
    const LabelValues labels = {resource.resource};
    Ignore(apiwatch_lists_->Set(labels, static_cast<double>(resource.lists)));
    Ignore(apiwatch_watches_->Set(labels, static_cast<double>(resource.watches)));
    Ignore(apiwatch_relists_->Set(labels, static_cast<double>(resource.relists)));
    Ignore(apiwatch_failures_->Set(labels, static_cast<double>(resource.failures)));
    Ignore(apiwatch_malformed_->Set(labels, static_cast<double>(resource.malformed)));
    Ignore(apiwatch_events_->Set(labels, static_cast<double>(resource.events)));
    if (resource.last_success != absl::InfinitePast()) {
      Ignore(apiwatch_last_success_->Set(
          labels, static_cast<double>(absl::ToUnixMicros(resource.last_success)) / 1e6));
    }
  }
}

absl::Status AgentMetrics::SampleDatapath(const Datapath& datapath,
                                          const compiler::MapImage& enforced) {
  // The tries and the rule hash are not walked: the image says what they hold (one pass
  // over the rules splits them between their two maps).
  const uint64_t range_rules = std::count_if(
      enforced.rules.begin(), enforced.rules.end(), [](const compiler::RuleEntry& rule) {
        return RuleMapOf(rule.key) == DatapathMap::kRuleRanges;
      });
  const auto image_entries = [&](DatapathMap map) -> uint64_t {
    switch (map) {
      case DatapathMap::kCidrs: return enforced.cidrs.size();
      case DatapathMap::kRuleRanges: return range_rules;
      default: return enforced.rules.size() - range_rules;
    }
  };
  for (const CountedMap& counted : kCountedMaps) {
    const std::string name = MapPinName(counted.map);
    FW_ASSIGN_OR_RETURN(const uint32_t capacity, MapCapacity(datapath, counted.map));
    Ignore(map_capacity_->Set({name}, capacity));
    uint64_t entries = 0;
    if (counted.walk) {
      FW_ASSIGN_OR_RETURN(entries, CountMapEntries(datapath, counted.map));
    } else {
      entries = image_entries(counted.map);
    }
    Ignore(map_entries_->Set({name}, static_cast<double>(entries)));
  }

  FW_ASSIGN_OR_RETURN(const std::vector<fw_counter_value> totals, ReadReasonTotals(datapath));
  for (size_t reason = 0; reason < totals.size(); ++reason) {
    const std::string_view reason_name = ReasonName(static_cast<int>(reason));
    // Gaps in the enum (10..31) and NONE are never counted by the programs.
    if (reason == FW_REASON_NONE || reason_name == "UNKNOWN") continue;
    const fw_verdict verdict =
        reason < FW_REASON_DEFAULT_DENY ? FW_VERDICT_ALLOW : FW_VERDICT_DENY;
    Ignore(verdicts_->Set({VerdictLabel(verdict), std::string(reason_name)},
                          static_cast<double>(totals[reason].packets)));
  }

  FW_ASSIGN_OR_RETURN(const fw_counter_value suppressed,
                      ReadStat(datapath, FW_STAT_EVENTS_SUPPRESSED));
  Ignore(events_suppressed_->Set({}, static_cast<double>(suppressed.packets)));
  FW_ASSIGN_OR_RETURN(const fw_counter_value lost, ReadStat(datapath, FW_STAT_EVENTS_RING_FULL));
  Ignore(ringbuf_lost_->Set({}, static_cast<double>(lost.packets)));
  return absl::OkStatus();
}

}  // namespace flatwall::agent
