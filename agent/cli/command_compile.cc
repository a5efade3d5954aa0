#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/image_format.h"
#include "agent/cli/manifest_files.h"
#include "policy-compiler/compiler.h"

namespace flatwall::cli {

int RunCompile(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line = CommandLine::Parse(args, {.with_value = {"node", "o"}});
  std::string format = line.ok() ? line->ValueOr("o", "text") : "";
  if (!line.ok() || !line->Value("node") || line->positional().empty() ||
      (format != "text" && format != "json")) {
    err << "flatwall compile: "
        << (line.ok() ? "--node NAME, -o text|json and at least one FILE are needed"
                      : std::string(line.status().message()))
        << "\nusage: flatwall compile --node NAME [-o text|json] FILE...\n";
    return 2;
  }
  std::optional<LoadedManifests> loaded =
      LoadManifestsForCommand(line->positional(), "compile", err);
  if (!loaded) return 1;
  std::string node = *line->Value("node");
  compiler::MapImage image = compiler::Compile(loaded->state, {.node_name = node});
  if (format == "json") {
    out << FormatImageJson(image, node).dump(2) << "\n";
  } else {
    out << FormatImageText(image, node);
  }
  return 0;
}

}  // namespace flatwall::cli
