// `flatwall`: the command-line tool for app, security and platform teams.
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: flatwall COMMAND [OPTIONS] FILE...\n"
    "\n"
    "commands:\n"
    "  validate FILE...                          check manifests; every error with file:line: field\n"
    "  compile --node NAME [-o text|json] FILE... the datapath tables for one node\n"
    "  matrix [--port N] [--protocol TCP|UDP|SCTP] [-o text|json]\n"
    "         [--datapath model|bpf] FILE...\n"
    "                                            reachability between every pair of pods\n"
    "  explain --from NS/POD --to NS/POD|IP --port N [--protocol P]\n"
    "          [--datapath model|bpf] FILE...\n"
    "                                            the verdict of one flow and the rule behind it\n"
    "  lab up|apply|probe|down ...               the flat network on this machine (docs/lab.md)\n"
    "  logs [--follow] [--verdict allow|deny] [--namespace N] [--pod P] [--policy NAME]\n"
    "       [-o text|json] FILE...               filter and print verdict logs\n"
    "  logs verify FILE...                       check a verdict log's hash chain and sequence\n"
    "  status [--bpffs-root DIR] [-o text|json] the node's pinned datapath state (root)\n"
    "\n"
    "FILE may be a directory: its *.yaml, *.yml and *.json files are read.\n"
    "--datapath bpf (root) judges flows with the real BPF programs instead of the model.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "validate") return flatwall::cli::RunValidate(args, std::cout, std::cerr);
  if (command == "compile") return flatwall::cli::RunCompile(args, std::cout, std::cerr);
  if (command == "matrix") return flatwall::cli::RunMatrix(args, std::cout, std::cerr);
  if (command == "explain") return flatwall::cli::RunExplain(args, std::cout, std::cerr);
  if (command == "lab") return flatwall::cli::RunLab(args, std::cout, std::cerr);
  if (command == "logs") return flatwall::cli::RunLogs(args, std::cout, std::cerr);
  if (command == "status") return flatwall::cli::RunStatus(args, std::cout, std::cerr);
  std::cerr << "flatwall: unknown command \"" << command << "\"\n\n" << kUsage;
  return 2;
}
