#include "bench/sample_stats.h"

#include <algorithm>
#include <cmath>

namespace flatwall::bench {

double Quantile(std::vector<double> samples, double quantile) {
  if (samples.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(quantile * static_cast<double>(samples.size())));
  size_t index = std::clamp<size_t>(rank, 1, samples.size()) - 1;
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index),
                   samples.end());
  return samples[index];
}

SampleSummary Summarize(const std::vector<double>& samples) {
  SampleSummary summary;
  summary.count = samples.size();
  if (samples.empty()) return summary;
  summary.p50 = Quantile(samples, 0.50);
  summary.p99 = Quantile(samples, 0.99);
  summary.max = *std::max_element(samples.begin(), samples.end());
  return summary;
}

}  // namespace flatwall::bench
