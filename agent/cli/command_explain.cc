// `flatwall explain`: why a flow is allowed or denied — from the manifest files alone
// (judged by the compiled model or, with --datapath bpf, the real programs), or with
// --node against a live node's pinned state and verdict log (explain_live.h).
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/datapath_option.h"
#include "agent/cli/explain_live.h"
#include "agent/cli/flow_explanation.h"
#include "agent/cli/manifest_files.h"
#include "agent/cli/traffic_options.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/compiler.h"
#include "policy-compiler/policy_lookup.h"

namespace flatwall::cli {
namespace {

using compiler::MapImage;

constexpr char kUsage[] =
    "usage: flatwall explain --from NS/POD --to NS/POD|IP --port N [--protocol TCP|UDP|SCTP]\n"
    "                        [-o text|json] [--datapath model|bpf] FILE...\n"
    "       flatwall explain --node [--bpffs-root DIR] [--verdict-log FILE[,FILE...]]\n"
    "                        [--recent N] --from NS/POD|IP --to NS/POD|IP --port N\n"
    "                        [--protocol TCP|UDP|SCTP] [-o text|json] [FILE...]\n";
constexpr char kDefaultPinRoot[] = "/sys/fs/bpf/flatwall";

// The flow judged from the files alone; the exit code.
int ExplainFromFiles(const LoadedManifests& loaded, const TrafficOptions& options,
                     const FlowEnd& from, const FlowEnd& to, std::ostream& out, std::ostream& err) {
  MapImage image = compiler::Compile(loaded.state, {.all_nodes = true});
  const uint8_t protocol_number = static_cast<uint8_t>(options.protocol);
  compiler::FlowVerdict verdict;
  if (options.datapath == DatapathChoice::kBpf) {
    std::unique_ptr<agent::BpfFlowJudge> bpf = LoadBpfJudge(image, "explain", err);
    if (bpf == nullptr) return 1;
    absl::StatusOr<compiler::FlowVerdict> probed =
        ProgramVerdict(*bpf, from, to, protocol_number, options.port);
    if (!probed.ok()) {
      err << "flatwall explain: --datapath bpf: " << probed.status().message() << "\n";
      return 1;
    }
    verdict = *probed;
  } else {
    verdict = compiler::CheckFlow(image, from.address, to.address, protocol_number, options.port);
  }
  const compiler::EndpointInfo* source = FindEndpoint(image, from.address);
  const compiler::EndpointInfo* destination = FindEndpoint(image, to.address);
  std::string traffic =
      absl::StrCat(std::string(compiler::ProtocolName(options.protocol)), "/", options.port);
  if (options.format == "json") {
    out << nlohmann::json{{"from", from.name},
                          {"to", to.name},
                          {"port", options.port},
                          {"protocol", std::string(compiler::ProtocolName(options.protocol))},
                          {"allowed", verdict.allowed},
                          {"egress", SideJson(image, verdict.egress, FW_DIR_EGRESS, source)},
                          {"ingress",
                           SideJson(image, verdict.ingress, FW_DIR_INGRESS, destination)}}
               .dump(2)
        << "\n";
  } else {
    out << from.name << " (" << from.address.ToString() << ") -> " << to.name << " ("
        << to.address.ToString() << ") " << traffic << ": "
        << (verdict.allowed ? "ALLOWED" : "DENIED") << "\n";
    PrintSide(image, "egress of " + from.name, verdict.egress, FW_DIR_EGRESS, source, out);
    PrintSide(image, "ingress of " + to.name, verdict.ingress, FW_DIR_INGRESS, destination, out);
  }
  return verdict.allowed ? 0 : 1;
}

}  // namespace

int RunExplain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line =
      CommandLine::Parse(args, {.with_value = {"from", "to", "port", "protocol", "o", "datapath",
                                               "bpffs-root", "verdict-log", "recent"},
                                .flags = {"node"}});
  auto usage = [&err](const std::string& problem) {
    err << "flatwall explain: " << problem << "\n" << kUsage;
    return 2;
  };
  if (!line.ok()) return usage(std::string(line.status().message()));
  if (!line->Value("from") || !line->Value("to") || !line->Value("port")) {
    return usage("--from, --to and --port are required");
  }
  const bool node = line->Flag("node");
  if (!node) {
    for (const char* option : {"bpffs-root", "verdict-log", "recent"}) {
      if (line->Value(option)) return usage(absl::StrCat("--", option, " needs --node"));
    }
    if (line->positional().empty()) return usage("no FILE given");
  } else if (line->Value("datapath")) {
    return usage("--node always judges with the node's programs: drop --datapath");
  }
  absl::StatusOr<TrafficOptions> options = ParseTrafficOptions(*line, std::nullopt);
  if (!options.ok()) return usage(std::string(options.status().message()));
  NodeExplainRequest request;
  if (node) {
    int recent = 0;
    if (!absl::SimpleAtoi(line->ValueOr("recent", "10"), &recent) || recent < 0) {
      return usage("--recent must be a number of records (0 or more)");
    }
    request.recent = static_cast<size_t>(recent);
  }

  std::optional<LoadedManifests> loaded;
  if (!line->positional().empty()) {
    loaded = LoadManifestsForCommand(line->positional(), "explain", err);
    if (!loaded) return 1;
  }
  if (node) {
    request.pin_root = line->ValueOr("bpffs-root", kDefaultPinRoot);
    if (std::optional<std::string> logs = line->Value("verdict-log")) {
      request.verdict_logs = absl::StrSplit(*logs, ',', absl::SkipEmpty());
    }
    request.from = *line->Value("from");
    request.to = *line->Value("to");
    request.protocol = options->protocol;
    request.port = options->port;
    request.json = options->format == "json";
    request.manifests = loaded ? &*loaded : nullptr;
    return ExplainOnNode(request, out, err);
  }
  absl::StatusOr<FlowEnd> from = ResolveEnd(loaded->state, *line->Value("from"), nullptr);
  if (!from.ok()) return usage(std::string(from.status().message()));
  absl::StatusOr<FlowEnd> to = ResolveEnd(loaded->state, *line->Value("to"), &from->address);
  if (!to.ok()) return usage(std::string(to.status().message()));
  return ExplainFromFiles(*loaded, *options, *from, *to, out, err);
}

}  // namespace flatwall::cli
