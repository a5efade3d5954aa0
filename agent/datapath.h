// The kernel side of Flatwall as one RAII object: the three BPF objects (one per attach
// point) loaded with a shared bpffs pin root, so they share every map; the maps adopted
// from earlier pins there (a restarted agent keeps flows, counters and tables) or created
// and pinned; the programs pinned next to them; and the datapath configuration.
//
// Not here: writing policy tables (map_writer.h), attaching programs to interfaces
// (tc_attacher.h), running test packets (packet_runner.h), reading counters and events
// (datapath_stats.h, event_reader.h).
#ifndef FLATWALL_AGENT_DATAPATH_H_
#define FLATWALL_AGENT_DATAPATH_H_

#include <memory>
#include <string>

#include "abi/datapath_maps.h"
#include "abi/policy_maps.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatwall::agent {

enum class DatapathMap {
  kEndpoints,
  kIpcache,
  kCidrs,
  kRules,
  kRuleRanges,
  kConfig,
  kServices,
  kVeth,
  kVethBig,
  kConntrack,
  kFragments,
  kCounters,
  kStats,
  kEventRate,
  kEvents,
};

inline constexpr DatapathMap kAllDatapathMaps[] = {
    DatapathMap::kEndpoints, DatapathMap::kIpcache,   DatapathMap::kCidrs,
    DatapathMap::kRules,     DatapathMap::kRuleRanges, DatapathMap::kConfig,
    DatapathMap::kServices,
    DatapathMap::kVeth,      DatapathMap::kVethBig,   DatapathMap::kConntrack,
    DatapathMap::kFragments, DatapathMap::kCounters,  DatapathMap::kStats,
    DatapathMap::kEventRate, DatapathMap::kEvents,
};

inline constexpr fw_hook kAllHooks[] = {FW_HOOK_FROM_POD, FW_HOOK_TO_POD, FW_HOOK_UPLINK};

// The map's pin name, which is also its name in the BPF objects: "fw_ct_v1".
const char* MapPinName(DatapathMap map);
// Where a rule entry lives: fw_ranges for the pieces of port ranges, fw_rules for
// the other shapes (abi/policy_maps.h).
inline DatapathMap RuleMapOf(const fw_rule_key& key) {
  return fw_rule_shape(key.prefixlen) == FW_RULES_HAVE_PORT_RANGE ? DatapathMap::kRuleRanges
                                                                   : DatapathMap::kRules;
}

// The program's pin name: "fw_from_pod_v1".
const char* ProgramPinName(fw_hook hook);

struct DatapathOptions {
  // A directory on bpffs (created if missing). Separate agents (one per node in the lab)
  // use separate roots.
  std::string pin_root = "/sys/fs/bpf/flatwall";
  // FW_CFG_CT_ACCOUNTING: per-flow packet and byte counters (abi/datapath_maps.h says why
  // they are off by default).
  bool conntrack_accounting = false;
};

class Datapath {
 public:
  // Loads the programs, adopting maps already pinned under options.pin_root and pinning
  // the missing ones, pins the programs (replacing earlier pins, so the newest code is
  // what the pins hold), and writes the default configuration if none is set yet
  // (generation 1, Service mark FW_DEFAULT_SERVICE_MARK, events off). Sets or clears
  // FW_CFG_CT_ACCOUNTING as options say, also in an adopted configuration, whose other
  // fields and flags it keeps.
  // Errors: FailedPrecondition when the pin root is not on bpffs; PermissionDenied
  // without CAP_BPF/CAP_SYS_ADMIN; InvalidArgument when a pinned map's layout differs
  // from this build's (a layout change must bump its pin name); others from the kernel.
  static absl::StatusOr<std::unique_ptr<Datapath>> Load(const DatapathOptions& options);

  // Closes this process's handles. Pins stay, and so does enforcement by attached
  // programs: an agent restart or upgrade leaves no gap.
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  const std::string& pin_root() const { return pin_root_; }
  int map_fd(DatapathMap map) const;
  int program_fd(fw_hook hook) const;

  // fw_config_v1[0]. Errors from the kernel (Internal, ...).
  absl::StatusOr<fw_config> ReadConfig() const;
  absl::Status WriteConfig(const fw_config& config) const;

  // Removes every map and program pin and then the pin root if it is empty: the
  // datapath disappears once attached programs are detached and handles closed.
  // This object stays usable until destroyed. Missing pins are not an error.
  absl::Status Uninstall();

 private:
  struct Objects;
  Datapath(std::string pin_root, std::unique_ptr<Objects> objects);
  absl::Status PinPrograms() const;
  absl::Status InitializeConfig(const DatapathOptions& options) const;

  std::string pin_root_;
  std::unique_ptr<Objects> objects_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DATAPATH_H_
