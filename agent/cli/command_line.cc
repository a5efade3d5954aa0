#include "agent/cli/command_line.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flatwall::cli {

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& args,
                                               const OptionSpec& spec) {
  CommandLine line;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      line.positional_.insert(line.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      line.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (spec.flags.count(name) && !inline_value) {
      line.flags_.insert(name);
    } else if (spec.with_value.count(name)) {
      if (!inline_value && i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option ", arg, " needs a value"));
      }
      line.values_[name] = inline_value ? *inline_value : args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    }
  }
  return line;
}

std::optional<std::string> CommandLine::Value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::ValueOr(const std::string& name, const std::string& fallback) const {
  return Value(name).value_or(fallback);
}

absl::StatusOr<uint16_t> ParsePortOption(const std::string& name, const std::string& text) {
  int port = 0;
  if (!absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": \"", text, "\" is not a port number (1-65535)"));
  }
  return static_cast<uint16_t>(port);
}

}  // namespace flatwall::cli
