#include "agent/cli/commands.h"
#include "agent/cli/command_line.h"
#include "agent/cli/manifest_files.h"

namespace flatwall::cli {

int RunValidate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line = CommandLine::Parse(args, {});
  if (!line.ok() || line->positional().empty()) {
    err << "flatwall validate: " << (line.ok() ? "no FILE given" : line.status().message())
        << "\nusage: flatwall validate FILE...\n";
    return 2;
  }
  absl::StatusOr<LoadedManifests> loaded = LoadManifests(line->positional());
  if (!loaded.ok()) {
    err << "flatwall validate: " << loaded.status().message() << "\n";
    return 1;
  }
  for (const compiler::DecodeError& error : loaded->errors) out << error.ToString() << "\n";
  if (!loaded->errors.empty()) {
    out << loaded->errors.size() << " error(s) in " << loaded->files.size() << " file(s)\n";
    return 1;
  }
  out << "ok: " << loaded->files.size() << " file(s) valid\n";
  return 0;
}

}  // namespace flatwall::cli
