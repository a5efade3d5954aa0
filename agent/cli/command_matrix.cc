#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/traffic_options.h"
#include "agent/cli/datapath_option.h"
#include "agent/cli/manifest_files.h"
#include "agent/cli/reachability_output.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/reachability.h"

namespace flatwall::cli {

int RunMatrix(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line =
      CommandLine::Parse(args, {.with_value = {"port", "protocol", "o", "datapath"}});
  auto usage = [&err](const std::string& problem) {
    err << "flatwall matrix: " << problem
        << "\nusage: flatwall matrix [--port N] [--protocol TCP|UDP|SCTP] [-o text|json] "
           "[--datapath model|bpf] FILE...\n";
    return 2;
  };
  if (!line.ok()) return usage(std::string(line.status().message()));
  if (line->positional().empty()) return usage("no FILE given");
  absl::StatusOr<TrafficOptions> options = ParseTrafficOptions(*line, "80");
  if (!options.ok()) return usage(std::string(options.status().message()));

  std::optional<LoadedManifests> loaded =
      LoadManifestsForCommand(line->positional(), "matrix", err);
  if (!loaded) return 1;
  compiler::MapImage image = compiler::Compile(loaded->state, {.all_nodes = true});
  std::vector<compiler::ReachabilityResult> results;
  if (options->datapath == DatapathChoice::kBpf) {
    std::unique_ptr<agent::BpfFlowJudge> bpf = LoadBpfJudge(image, "matrix", err);
    if (bpf == nullptr) return 1;
    results = compiler::ComputeReachability(loaded->state, options->port, options->protocol, bpf->Judge());
    if (!bpf->status().ok()) {
      err << "flatwall matrix: --datapath bpf: " << bpf->status().message() << "\n";
      return 1;
    }
  } else {
    results = compiler::ComputeReachability(loaded->state, options->port, options->protocol,
                                            compiler::JudgeWithImage(image));
  }
  if (options->format == "json") {
    out << ReachabilityToJson(results).dump(2) << "\n";
  } else {
    PrintReachabilityGrid(results, out);
  }
  return 0;
}

}  // namespace flatwall::cli
