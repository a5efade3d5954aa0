// Compiler benchmarks: a full compile for one node at 1k/10k/100k pods with 100/1k/10k
// policies and ~1k CIDRs, and one pod add + delete through the incremental compiler.
// Peak memory is the process's maximum RSS (run one size per process: see
// bench/run_compiler_bench.sh), reported as the counter peak_rss_mb.
#include <sys/resource.h>

#include "absl/strings/str_cat.h"
#include "bench/synthetic_cluster.h"
#include "benchmark/benchmark.h"
#include "policy-compiler/compiler.h"

namespace flatwall::bench {
namespace {

using compiler::ClusterEvent;

double PeakRssMegabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

ClusterShape ShapeFor(const benchmark::State& state) {
  ClusterShape shape;
  shape.pods = static_cast<int>(state.range(0));
  shape.policies = static_cast<int>(state.range(1));
  shape.cidrs = 1000;
  return shape;
}

compiler::ClusterState BuildState(const ClusterShape& shape) {
  compiler::ClusterState cluster;
  for (compiler::ClusterObject& object : MakeSyntheticCluster(shape)) {
    cluster.Apply(ClusterEvent{ClusterEvent::kUpsert, std::move(object)});
  }
  return cluster;
}

void BM_FullCompile(benchmark::State& state) {
  ClusterShape shape = ShapeFor(state);
  compiler::ClusterState cluster = BuildState(shape);
  size_t rules = 0;
  for (auto _ : state) {
    compiler::MapImage image = compiler::Compile(cluster, {.node_name = "node-0"});
    rules = image.rules.size();
    benchmark::DoNotOptimize(image);
  }
  state.counters["rules"] = static_cast<double>(rules);
  state.counters["peak_rss_mb"] = PeakRssMegabytes();
}
BENCHMARK(BM_FullCompile)
    ->ArgNames({"pods", "policies"})
    ->Args({1000, 100})
    ->Args({10000, 1000})
    ->Args({100000, 10000})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// One pod added then deleted; range(2) = 1 when the pod brings a new local identity.
void BM_IncrementalPodAddDelete(benchmark::State& state) {
  ClusterShape shape = ShapeFor(state);
  bool new_local_identity = state.range(2) == 1;
  // Starts from the listed state, as the agent does after its initial list.
  compiler::IncrementalCompiler incremental({.node_name = "node-0"}, BuildState(shape));
  int serial = 0;
  size_t diff_entries = 0;
  for (auto _ : state) {
    compiler::Pod pod = MakeExtraPod(shape, serial++, new_local_identity);
    diff_entries += incremental.Apply(ClusterEvent{ClusterEvent::kUpsert, pod}).size();
    diff_entries += incremental.Apply(ClusterEvent{ClusterEvent::kDelete, pod}).size();
  }
  // Two events per iteration: the per-event figure is half the reported time.
  state.counters["events"] = benchmark::Counter(2.0 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["diff_entries_per_event"] =
      static_cast<double>(diff_entries) / (2.0 * static_cast<double>(state.iterations()));
  state.counters["peak_rss_mb"] = PeakRssMegabytes();
}
BENCHMARK(BM_IncrementalPodAddDelete)
    ->ArgNames({"pods", "policies", "new_local_identity"})
    ->Args({10000, 1000, 0})
    ->Args({100000, 10000, 0})
    ->Args({100000, 10000, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace flatwall::bench

BENCHMARK_MAIN();
