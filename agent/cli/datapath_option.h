// `--datapath model|bpf` of `flatwall matrix` and `flatwall explain`: which implementation
// judges the flows — the compiled tables looked up in userspace (model, the default), or
// the real BPF programs loaded for the run under a temporary bpffs pin root (bpf).
//
// Not here: the throwaway datapath itself (agent/bpf_flow_judge.h).
#ifndef FLATWALL_AGENT_CLI_DATAPATH_OPTION_H_
#define FLATWALL_AGENT_CLI_DATAPATH_OPTION_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "agent/bpf_flow_judge.h"
#include "policy-compiler/map_image.h"

namespace flatwall::cli {

enum class DatapathChoice { kModel, kBpf };

// "model" or "bpf"; InvalidArgument for anything else.
absl::StatusOr<DatapathChoice> ParseDatapathOption(const std::string& text);

// Loads the programs under a fresh temporary pin root and writes `image` (compiled with
// CompileOptions::all_nodes). On failure (not root, no bpffs, the kernel refusing) writes
// "flatwall <command>: ..." to `err` and returns null. The pins go with the object.
std::unique_ptr<agent::BpfFlowJudge> LoadBpfJudge(const compiler::MapImage& image,
                                                  const std::string& command, std::ostream& err);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_DATAPATH_OPTION_H_
