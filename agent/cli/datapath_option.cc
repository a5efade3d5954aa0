#include "agent/cli/datapath_option.h"

namespace flatwall::cli {

absl::StatusOr<DatapathChoice> ParseDatapathOption(const std::string& text) {
  if (text == "model") return DatapathChoice::kModel;
  if (text == "bpf") return DatapathChoice::kBpf;
  return absl::InvalidArgumentError("--datapath must be model or bpf");
}

std::unique_ptr<agent::BpfFlowJudge> LoadBpfJudge(const compiler::MapImage& image,
                                                  const std::string& command, std::ostream& err) {
  absl::StatusOr<std::unique_ptr<agent::BpfFlowJudge>> judge =
      agent::BpfFlowJudge::Create(agent::BpfFlowJudge::TemporaryPinRoot(), image);
  if (!judge.ok()) {
    err << "flatwall " << command << ": --datapath bpf: " << judge.status().message() << "\n";
    return nullptr;
  }
  return std::move(*judge);
}

}  // namespace flatwall::cli
