#include "agent/pinned_maps.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

namespace flatwall::agent {

absl::StatusOr<std::unique_ptr<PinnedMaps>> PinnedMaps::Open(const std::string& root) {
  std::unique_ptr<PinnedMaps> maps(new PinnedMaps(root));
  struct bpf_obj_get_opts options {};
  options.sz = sizeof(options);
  options.file_flags = BPF_F_RDONLY;
  for (const DatapathMap map : kAllDatapathMaps) {
    const std::string pin = absl::StrCat(root, "/", MapPinName(map));
    const int fd = bpf_obj_get_opts(pin.c_str(), &options);
    if (fd >= 0) {
      maps->fds_[map] = fd;
    } else if (errno != ENOENT) {
      return BpfError(errno, absl::StrCat("open map pin ", pin));
    }
  }
  if (maps->fds_.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no Flatwall maps pinned under ", root, ": is the agent running there?"));
  }
  return maps;
}

PinnedMaps::~PinnedMaps() {
  for (const auto& [map, fd] : fds_) close(fd);
}

int PinnedMaps::map_fd(DatapathMap map) const {
  auto it = fds_.find(map);
  return it == fds_.end() ? -1 : it->second;
}

absl::StatusOr<fw_config> PinnedMaps::ReadConfig() const {
  const int fd = map_fd(DatapathMap::kConfig);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(FW_PIN_CONFIG, " is not pinned under ", root_));
  }
  const uint32_t zero = 0;
  fw_config config{};
  if (bpf_map_lookup_elem(fd, &zero, &config) != 0) {
    return BpfError(errno, absl::StrCat("read map ", FW_PIN_CONFIG));
  }
  return config;
}

}  // namespace flatwall::agent
