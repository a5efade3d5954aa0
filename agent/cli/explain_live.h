// `flatwall explain --node`: one flow explained against a live node — the verdict of the
// real programs over the node's pinned tables (judged in a throwaway datapath, so the
// node's conntrack, counters, event ring and rate-limit tokens stay untouched), the
// node's policy generation and which ends are its endpoints, the model's verdict from the
// manifests when given (and where the two differ), the flow's recent records in the
// node's verdict log, and the local endpoints' per-direction, per-reason counters.
//
// Not here: option parsing and the explanation from files alone (command_explain.cc);
// the shared explanation pieces (flow_explanation.h); reading logs (verdict_records.h).
#ifndef FLATWALL_AGENT_CLI_EXPLAIN_LIVE_H_
#define FLATWALL_AGENT_CLI_EXPLAIN_LIVE_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "agent/cli/manifest_files.h"
#include "policy-compiler/model.h"

namespace flatwall::cli {

struct NodeExplainRequest {
  std::string pin_root;                   // the agent's --bpffs-root
  std::vector<std::string> verdict_logs;  // the active file and rotations, any order
  size_t recent = 10;                     // at most this many log records
  std::string from;                       // NS/POD or an IP
  std::string to;                         // NS/POD or an IP
  compiler::Protocol protocol = compiler::Protocol::kTcp;
  uint16_t port = 0;
  bool json = false;
  // The manifests given, if any: they name the pods and give the model's verdict.
  const LoadedManifests* manifests = nullptr;
};

// Writes the explanation to `out`. Exit code: 0 when the node allows the flow, 1 when it
// denies it or something needed is missing (no pins under the root, an unreadable log,
// not root), 2 when an end cannot be named (no such pod in the manifests or, without
// them, in the log records). Problems are written to `err` as "flatwall explain: ...".
int ExplainOnNode(const NodeExplainRequest& request, std::ostream& out, std::ostream& err);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_EXPLAIN_LIVE_H_
