#include "agent/veth_binding.h"

#include <bpf/bpf.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "abi/datapath_maps.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

namespace flatwall::agent {
namespace {

bool InArray(int ifindex) { return ifindex < FW_VETH_ARRAY_SLOTS; }

absl::Status CheckIfindex(int ifindex) {
  if (ifindex < 1) {
    return absl::InvalidArgumentError(absl::StrCat("veth ifindex ", ifindex, " is not valid"));
  }
  return absl::OkStatus();
}

// The map holding the ifindex's slot, and its pin name for messages.
DatapathMap MapFor(int ifindex) {
  return InArray(ifindex) ? DatapathMap::kVeth : DatapathMap::kVethBig;
}

}  // namespace

absl::Status BindVeth(const Datapath& datapath, int ifindex,
                      const std::vector<compiler::IpAddress>& addresses) {
  if (absl::Status status = CheckIfindex(ifindex); !status.ok()) return status;
  if (addresses.size() > FW_VETH_MAX_ADDRS) {
    return absl::InvalidArgumentError(absl::StrCat("bind ", addresses.size(),
                                                   " addresses to veth ifindex ", ifindex,
                                                   ": at most ", FW_VETH_MAX_ADDRS));
  }
  fw_veth_value value{};
  value.ifindex = static_cast<uint32_t>(ifindex);
  value.count = static_cast<uint32_t>(addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::memcpy(value.addrs[i].bytes, addresses[i].bytes().data(), sizeof(value.addrs[i]));
  }
  const uint32_t key = value.ifindex;
  const DatapathMap map = MapFor(ifindex);
  if (bpf_map_update_elem(datapath.map_fd(map), &key, &value, BPF_ANY) != 0) {
    if (errno == E2BIG) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "bind veth ifindex ", ifindex, ": ", MapPinName(map), " is full"));
    }
    return BpfError(errno, absl::StrCat("bind veth ifindex ", ifindex, " in ", MapPinName(map)));
  }
  return absl::OkStatus();
}

absl::Status UnbindVeth(const Datapath& datapath, int ifindex) {
  if (absl::Status status = CheckIfindex(ifindex); !status.ok()) return status;
  const uint32_t key = static_cast<uint32_t>(ifindex);
  const DatapathMap map = MapFor(ifindex);
  if (InArray(ifindex)) {
    // Array slots cannot be deleted: a zeroed slot is an unbound one.
    const fw_veth_value empty{};
    if (bpf_map_update_elem(datapath.map_fd(map), &key, &empty, BPF_ANY) != 0) {
      return BpfError(errno, absl::StrCat("unbind veth ifindex ", ifindex));
    }
  } else if (bpf_map_delete_elem(datapath.map_fd(map), &key) != 0 && errno != ENOENT) {
    return BpfError(errno, absl::StrCat("unbind veth ifindex ", ifindex));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<compiler::IpAddress>> VethAddresses(const Datapath& datapath,
                                                               int ifindex) {
  if (absl::Status status = CheckIfindex(ifindex); !status.ok()) return status;
  const uint32_t key = static_cast<uint32_t>(ifindex);
  fw_veth_value value{};
  if (bpf_map_lookup_elem(datapath.map_fd(MapFor(ifindex)), &key, &value) != 0) {
    if (errno == ENOENT) return std::vector<compiler::IpAddress>{};
    return BpfError(errno, absl::StrCat("read veth ifindex ", ifindex));
  }
  std::vector<compiler::IpAddress> addresses;
  if (value.ifindex != key) return addresses;
  for (uint32_t i = 0; i < value.count && i < FW_VETH_MAX_ADDRS; ++i) {
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), value.addrs[i].bytes, bytes.size());
    addresses.emplace_back(bytes);
  }
  return addresses;
}

}  // namespace flatwall::agent
