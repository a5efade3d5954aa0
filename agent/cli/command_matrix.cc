#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
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
  absl::StatusOr<uint16_t> port = ParsePortOption("port", line->ValueOr("port", "80"));
  if (!port.ok()) return usage(std::string(port.status().message()));
  std::optional<compiler::Protocol> protocol =
      compiler::ParseProtocolName(line->ValueOr("protocol", "TCP"));
  if (!protocol) return usage("--protocol must be TCP, UDP or SCTP");
  std::string format = line->ValueOr("o", "text");
  if (format != "text" && format != "json") return usage("-o must be text or json");
  absl::StatusOr<DatapathChoice> datapath = ParseDatapathOption(line->ValueOr("datapath", "model"));
  if (!datapath.ok()) return usage(std::string(datapath.status().message()));

  std::optional<LoadedManifests> loaded =
      LoadManifestsForCommand(line->positional(), "matrix", err);
  if (!loaded) return 1;
  compiler::MapImage image = compiler::Compile(loaded->state, {.all_nodes = true});
  std::vector<compiler::ReachabilityResult> results;
  if (*datapath == DatapathChoice::kBpf) {
    std::unique_ptr<agent::BpfFlowJudge> bpf = LoadBpfJudge(image, "matrix", err);
    if (bpf == nullptr) return 1;
    results = compiler::ComputeReachability(loaded->state, *port, *protocol, bpf->Judge());
    if (!bpf->status().ok()) {
      err << "flatwall matrix: --datapath bpf: " << bpf->status().message() << "\n";
      return 1;
    }
  } else {
    results = compiler::ComputeReachability(loaded->state, *port, *protocol,
                                            compiler::JudgeWithImage(image));
  }
  if (format == "json") {
    out << ReachabilityToJson(results).dump(2) << "\n";
  } else {
    PrintReachabilityGrid(results, out);
  }
  return 0;
}

}  // namespace flatwall::cli
