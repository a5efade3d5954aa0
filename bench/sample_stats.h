// Order statistics of benchmark samples (latencies, throughputs): the figures the agent
// benchmarks report.
#ifndef FLATWALL_BENCH_SAMPLE_STATS_H_
#define FLATWALL_BENCH_SAMPLE_STATS_H_

#include <cstddef>
#include <vector>

namespace flatwall::bench {

// The nearest-rank `quantile` (0 < quantile <= 1) of `samples`: the smallest sample with
// at least that fraction of the samples at or below it. 0 when `samples` is empty.
double Quantile(std::vector<double> samples, double quantile);

struct SampleSummary {
  std::size_t count = 0;
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

SampleSummary Summarize(const std::vector<double>& samples);

}  // namespace flatwall::bench

#endif  // FLATWALL_BENCH_SAMPLE_STATS_H_
