// A small thread-safe metrics registry and its rendering in the Prometheus text
// exposition format 0.0.4: counters and gauges with labels, histograms with fixed bucket
// bounds, HELP and TYPE lines, escaped label values. Families render sorted by name and
// series sorted by label values, so the output is deterministic.
//
// Not here: which metrics the agent publishes and sampling the datapath into them
// (agent_metrics.h), serving the text over HTTP (http_endpoints.h).
#ifndef FLATWALL_AGENT_DAEMON_METRICS_H_
#define FLATWALL_AGENT_DAEMON_METRICS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatwall::agent {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// One metric family of a registry. Updates are thread-safe. Each update checks that it
// passes one value per label name: InvalidArgument otherwise (and nothing changes).
class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Counters: Add requires delta >= 0 (InvalidArgument otherwise). Set replaces the value,
  // for counters that mirror a total kept elsewhere (the kernel's per-CPU counters).
  // Histograms accept neither (FailedPrecondition).
  absl::Status Add(const LabelValues& labels, double delta);
  absl::Status Set(const LabelValues& labels, double value);
  // Histograms only (FailedPrecondition otherwise): counts `value` in every bucket whose
  // upper bound is >= value, and in the sum and count.
  absl::Status Observe(const LabelValues& labels, double value);
  // Drops every series (a gauge family re-sampled from scratch, so vanished label values
  // do not linger).
  void Clear();

  Type type() const { return type_; }
  const std::string& name() const { return name_; }

 private:
  friend class MetricsRegistry;
  struct Series {
    double value = 0;                 // counters and gauges
    std::vector<uint64_t> buckets;    // histograms: non-cumulative counts, +Inf last
    double sum = 0;
    uint64_t count = 0;
  };

  MetricFamily(Type type, std::string name, std::string help,
               std::vector<std::string> label_names, std::vector<double> bounds);
  absl::Status CheckLabels(const LabelValues& labels) const;
  void Render(std::string& out) const;

  const Type type_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms: finite, strictly increasing
  mutable std::mutex mutex_;
  std::map<LabelValues, Series> series_;
};

class MetricsRegistry {
 public:
  // Register a family and return it; the pointer stays valid as long as the registry.
  // Errors: InvalidArgument for a name not matching [a-zA-Z_:][a-zA-Z0-9_:]*, a label
  // name not matching [a-zA-Z_][a-zA-Z0-9_]* or starting with "__", duplicate label
  // names, "le" on a histogram, histogram bounds that are empty, not finite or not
  // strictly increasing; AlreadyExists when the name is taken.
  absl::StatusOr<MetricFamily*> AddCounter(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names = {});
  absl::StatusOr<MetricFamily*> AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names = {});
  absl::StatusOr<MetricFamily*> AddHistogram(const std::string& name, const std::string& help,
                                             std::vector<double> bounds,
                                             std::vector<std::string> label_names = {});

  // The whole registry in text format 0.0.4. A family without series still has its HELP
  // and TYPE lines; a histogram without series, no samples.
  std::string Render() const;

 private:
  absl::StatusOr<MetricFamily*> Add(MetricFamily::Type type, const std::string& name,
                                    const std::string& help,
                                    std::vector<std::string> label_names,
                                    std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_;
};

// A sample value as Prometheus writes it: the shortest text that reads back to the same
// double ("1", "0.25", "1e+21"), and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_METRICS_H_
