// A small command-line parser for the `flatwall` subcommands: `--name value`,
// `--name=value`, `-o value`, boolean `--name`, and positional arguments. Each command
// declares the options it accepts, so a typo is an error rather than a silent default.
//
// Not here: what the commands do (command_*.cc).
#ifndef FLATWALL_AGENT_CLI_COMMAND_LINE_H_
#define FLATWALL_AGENT_CLI_COMMAND_LINE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flatwall::cli {

struct OptionSpec {
  std::set<std::string> with_value;  // e.g. {"node", "o", "port"}
  std::set<std::string> flags;       // boolean options, e.g. {"follow"}
};

class CommandLine {
 public:
  // Parses args (without the program and subcommand names). InvalidArgument names the
  // unknown option or the option missing its value.
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                           const OptionSpec& spec);

  std::optional<std::string> Value(const std::string& name) const;
  std::string ValueOr(const std::string& name, const std::string& fallback) const;
  bool Flag(const std::string& name) const { return flags_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

// Parses a port number 1..65535 given for option `name`.
absl::StatusOr<uint16_t> ParsePortOption(const std::string& name, const std::string& text);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_COMMAND_LINE_H_
