#include "agent/datapath.h"

#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "from_pod.skel.h"
#include "policy-compiler/status_macros.h"
#include "to_pod.skel.h"
#include "uplink.skel.h"

namespace flatwall::agent {
namespace {

constexpr long kBpffsMagic = 0xcafe4a11;

// A skeleton pointer that destroys the skeleton (closing its handles) when dropped.
template <typename Skeleton, void (*Destroy)(Skeleton*)>
struct SkeletonDeleter {
  void operator()(Skeleton* skeleton) const { Destroy(skeleton); }
};
template <typename Skeleton, void (*Destroy)(Skeleton*)>
using SkeletonPtr = std::unique_ptr<Skeleton, SkeletonDeleter<Skeleton, Destroy>>;

// The pin root or its nearest existing ancestor must be on bpffs: pinning elsewhere
// fails late and obscurely.
absl::Status CheckOnBpffs(const std::string& pin_root) {
  std::string path = pin_root;
  while (!path.empty()) {
    struct statfs fs {};
    if (statfs(path.c_str(), &fs) == 0) {
      if (static_cast<long>(fs.f_type) != kBpffsMagic) {
        return absl::FailedPreconditionError(absl::StrCat(
            "pin root ", pin_root, ": ", path,
            " is not on bpffs (mount it: mount -t bpf bpf /sys/fs/bpf)"));
      }
      return absl::OkStatus();
    }
    if (errno != ENOENT) return BpfError(errno, absl::StrCat("stat pin root ", path));
    const size_t slash = path.find_last_of('/');
    path = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
    if (path == "/") break;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("pin root ", pin_root, " has no ancestor on bpffs"));
}

// Opens and loads one skeleton with the shared pin root.
template <typename Skeleton, void (*Destroy)(Skeleton*)>
absl::StatusOr<SkeletonPtr<Skeleton, Destroy>> OpenAndLoad(
    Skeleton* (*open)(const bpf_object_open_opts*), int (*load)(Skeleton*),
    const char* name, const std::string& pin_root) {
  bpf_object_open_opts options{};
  options.sz = sizeof(options);
  options.pin_root_path = pin_root.c_str();
  SkeletonPtr<Skeleton, Destroy> skeleton(open(&options));
  if (skeleton == nullptr) return BpfError(errno, absl::StrCat("open BPF object ", name));
  if (const int err = load(skeleton.get()); err != 0) {
    return BpfError(err, absl::StrCat("load BPF object ", name, " with maps pinned under ",
                                      pin_root));
  }
  return skeleton;
}

}  // namespace

struct Datapath::Objects {
  SkeletonPtr<fw_from_pod, fw_from_pod__destroy> from_pod;
  SkeletonPtr<fw_to_pod, fw_to_pod__destroy> to_pod;
  SkeletonPtr<fw_uplink, fw_uplink__destroy> uplink;
};

const char* MapPinName(DatapathMap map) {
  switch (map) {
    case DatapathMap::kEndpoints: return FW_PIN_ENDPOINTS;
    case DatapathMap::kIpcache: return FW_PIN_IPCACHE;
    case DatapathMap::kCidrs: return FW_PIN_CIDRS;
    case DatapathMap::kRules: return FW_PIN_RULES;
    case DatapathMap::kRuleRanges: return FW_PIN_RULE_RANGES;
    case DatapathMap::kConfig: return FW_PIN_CONFIG;
    case DatapathMap::kServices: return FW_PIN_SERVICES;
    case DatapathMap::kVeth: return FW_PIN_VETH;
    case DatapathMap::kVethBig: return FW_PIN_VETH_BIG;
    case DatapathMap::kConntrack: return FW_PIN_CONNTRACK;
    case DatapathMap::kFragments: return FW_PIN_FRAGMENTS;
    case DatapathMap::kCounters: return FW_PIN_COUNTERS;
    case DatapathMap::kStats: return FW_PIN_STATS;
    case DatapathMap::kEventRate: return FW_PIN_EVENT_RATE;
    case DatapathMap::kEvents: return FW_PIN_EVENTS;
  }
  return "";
}

const char* ProgramPinName(fw_hook hook) {
  switch (hook) {
    case FW_HOOK_FROM_POD: return FW_PIN_PROG_FROM_POD;
    case FW_HOOK_TO_POD: return FW_PIN_PROG_TO_POD;
    case FW_HOOK_UPLINK: return FW_PIN_PROG_UPLINK;
    case FW_HOOK_COUNT: break;
  }
  return "";
}

Datapath::Datapath(std::string pin_root, std::unique_ptr<Objects> objects)
    : pin_root_(std::move(pin_root)), objects_(std::move(objects)) {}

Datapath::~Datapath() = default;

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Load(const DatapathOptions& options) {
  FW_RETURN_IF_ERROR(CheckOnBpffs(options.pin_root));
  auto objects = std::make_unique<Objects>();
  // The first load creates and pins the maps; the others adopt them by pin.
  FW_ASSIGN_OR_RETURN(objects->from_pod,
                      (OpenAndLoad<fw_from_pod, fw_from_pod__destroy>(
                          fw_from_pod__open_opts, fw_from_pod__load, "from_pod",
                          options.pin_root)));
  FW_ASSIGN_OR_RETURN(objects->to_pod,
                      (OpenAndLoad<fw_to_pod, fw_to_pod__destroy>(
                          fw_to_pod__open_opts, fw_to_pod__load, "to_pod", options.pin_root)));
  FW_ASSIGN_OR_RETURN(objects->uplink,
                      (OpenAndLoad<fw_uplink, fw_uplink__destroy>(
                          fw_uplink__open_opts, fw_uplink__load, "uplink", options.pin_root)));
  std::unique_ptr<Datapath> datapath(new Datapath(options.pin_root, std::move(objects)));
  FW_RETURN_IF_ERROR(datapath->PinPrograms());
  FW_RETURN_IF_ERROR(datapath->InitializeConfig(options));
  return datapath;
}

int Datapath::map_fd(DatapathMap map) const {
  const auto& maps = objects_->from_pod->maps;
  switch (map) {
    case DatapathMap::kEndpoints: return bpf_map__fd(maps.fw_endpoints_v2);
    case DatapathMap::kIpcache: return bpf_map__fd(maps.fw_ipcache_v1);
    case DatapathMap::kCidrs: return bpf_map__fd(maps.fw_cidrs_v1);
    case DatapathMap::kRules: return bpf_map__fd(maps.fw_rules_v2);
    case DatapathMap::kRuleRanges: return bpf_map__fd(maps.fw_ranges_v1);
    case DatapathMap::kConfig: return bpf_map__fd(maps.fw_config_v1);
    case DatapathMap::kServices: return bpf_map__fd(maps.fw_services_v1);
    case DatapathMap::kVeth: return bpf_map__fd(maps.fw_veth_v1);
    case DatapathMap::kVethBig: return bpf_map__fd(maps.fw_veth_big_v1);
    case DatapathMap::kConntrack: return bpf_map__fd(maps.fw_ct_v1);
    case DatapathMap::kFragments: return bpf_map__fd(maps.fw_frags_v1);
    case DatapathMap::kCounters: return bpf_map__fd(maps.fw_counters_v1);
    case DatapathMap::kStats: return bpf_map__fd(maps.fw_stats_v1);
    case DatapathMap::kEventRate: return bpf_map__fd(maps.fw_evrate_v1);
    case DatapathMap::kEvents: return bpf_map__fd(maps.fw_events_v1);
  }
  return -1;
}

int Datapath::program_fd(fw_hook hook) const {
  switch (hook) {
    case FW_HOOK_FROM_POD: return bpf_program__fd(objects_->from_pod->progs.fw_from_pod);
    case FW_HOOK_TO_POD: return bpf_program__fd(objects_->to_pod->progs.fw_to_pod);
    case FW_HOOK_UPLINK: return bpf_program__fd(objects_->uplink->progs.fw_uplink);
    case FW_HOOK_COUNT: break;
  }
  return -1;
}

absl::Status Datapath::PinPrograms() const {
  for (const fw_hook hook : kAllHooks) {
    const std::string path = absl::StrCat(pin_root_, "/", ProgramPinName(hook));
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return BpfError(errno, absl::StrCat("replace program pin ", path));
    }
    if (bpf_obj_pin(program_fd(hook), path.c_str()) != 0) {
      return BpfError(errno, absl::StrCat("pin program at ", path));
    }
  }
  return absl::OkStatus();
}

absl::Status Datapath::InitializeConfig(const DatapathOptions& options) const {
  FW_ASSIGN_OR_RETURN(fw_config config, ReadConfig());
  if (config.generation == 0) {  // a new map; an adopted one keeps its values
    config = fw_config{};
    config.generation = 1;
    config.service_mark = FW_DEFAULT_SERVICE_MARK;
    config.event_interval_ns = FW_DEFAULT_EVENT_INTERVAL_NS;
    config.event_burst = FW_DEFAULT_EVENT_BURST;
  }
  // Adopted too, so that a restart with another setting takes effect. Read-modify-write:
  // FW_CFG_EVENTS belongs to the event reader.
  if (options.conntrack_accounting) {
    config.flags |= FW_CFG_CT_ACCOUNTING;
  } else {
    config.flags &= ~FW_CFG_CT_ACCOUNTING;
  }
  return WriteConfig(config);
}

absl::StatusOr<fw_config> Datapath::ReadConfig() const {
  const uint32_t index = 0;
  fw_config config{};
  if (bpf_map_lookup_elem(map_fd(DatapathMap::kConfig), &index, &config) != 0) {
    return BpfError(errno, absl::StrCat("read map ", FW_PIN_CONFIG));
  }
  return config;
}

absl::Status Datapath::WriteConfig(const fw_config& config) const {
  const uint32_t index = 0;
  if (bpf_map_update_elem(map_fd(DatapathMap::kConfig), &index, &config, BPF_ANY) != 0) {
    return BpfError(errno, absl::StrCat("write map ", FW_PIN_CONFIG));
  }
  return absl::OkStatus();
}

absl::Status Datapath::Uninstall() {
  auto remove = [&](const char* name) -> absl::Status {
    const std::string path = absl::StrCat(pin_root_, "/", name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return BpfError(errno, absl::StrCat("remove pin ", path));
    }
    return absl::OkStatus();
  };
  for (const fw_hook hook : kAllHooks) FW_RETURN_IF_ERROR(remove(ProgramPinName(hook)));
  for (const DatapathMap map : kAllDatapathMaps) FW_RETURN_IF_ERROR(remove(MapPinName(map)));
  // Someone else's files in the root are theirs to remove.
  if (rmdir(pin_root_.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY) {
    return BpfError(errno, absl::StrCat("remove pin root ", pin_root_));
  }
  return absl::OkStatus();
}

}  // namespace flatwall::agent
