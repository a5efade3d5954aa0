// The `flatwall` subcommands. Each takes its arguments (after the subcommand name) and
// the streams to write to, and returns the process exit code: 0 success, 1 a negative
// answer or invalid input (validation errors, a denied `explain`), 2 a usage error.
#ifndef FLATWALL_AGENT_CLI_COMMANDS_H_
#define FLATWALL_AGENT_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

namespace flatwall::cli {

int RunValidate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunCompile(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunMatrix(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `flatwall explain ... FILE...`, or with --node against a live node (explain_live.h).
int RunExplain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `flatwall lab up|apply|probe|down`: the flat-network lab (agent/lab/lab.h).
int RunLab(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `flatwall logs [filters] FILE...` and `flatwall logs verify FILE...`: verdict logs
// (docs/verdict-log.md). With --follow it does not return.
int RunLogs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `flatwall status [--bpffs-root DIR] [-o text|json]`: the node's pinned datapath state,
// read without loading or replacing anything. Exit 1 when DIR holds no Flatwall maps.
int RunStatus(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_COMMANDS_H_
