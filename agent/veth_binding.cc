#include "agent/veth_binding.h"

#include <bpf/bpf.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "abi/datapath_maps.h"
#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "policy-compiler/map_image.h"

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

std::vector<compiler::IpAddress> AddressesOf(const fw_veth_value& value) {
  std::vector<compiler::IpAddress> addresses;
  for (uint32_t i = 0; i < value.count && i < FW_VETH_MAX_ADDRS; ++i) {
    addresses.push_back(compiler::FromAbi(value.addrs[i]));
  }
  return addresses;
}

// Slots read per batch: 4096 values of 72 bytes, so the array takes 16 system calls
// instead of one per slot.
constexpr uint32_t kBatchSlots = 4096;

absl::Status ReadArrayBindings(const Datapath& datapath,
                               std::map<int, std::vector<compiler::IpAddress>>* bindings) {
  std::vector<uint32_t> keys(kBatchSlots);
  std::vector<fw_veth_value> values(kBatchSlots);
  uint32_t next_batch = 0;
  bool first = true;
  while (true) {
    uint32_t count = kBatchSlots;
    const int err = bpf_map_lookup_batch(datapath.map_fd(DatapathMap::kVeth),
                                         first ? nullptr : &next_batch, &next_batch,
                                         keys.data(), values.data(), &count, nullptr);
    const int error = errno;
    first = false;
    if (err != 0 && error != ENOENT) {
      return BpfError(error, absl::StrCat("read map ", FW_PIN_VETH));
    }
    for (uint32_t i = 0; i < count; ++i) {
      // A slot is bound only while its ifindex field names it (veth_binding.h).
      if (values[i].ifindex != 0 && values[i].ifindex == keys[i]) {
        (*bindings)[static_cast<int>(keys[i])] = AddressesOf(values[i]);
      }
    }
    if (err != 0) return absl::OkStatus();  // ENOENT: that was the last batch
  }
}

absl::Status ReadHashBindings(const Datapath& datapath,
                              std::map<int, std::vector<compiler::IpAddress>>* bindings) {
  const int fd = datapath.map_fd(DatapathMap::kVethBig);
  uint32_t key = 0;
  for (int err = bpf_map_get_next_key(fd, nullptr, &key); err == 0;
       err = bpf_map_get_next_key(fd, &key, &key)) {
    fw_veth_value value{};
    if (bpf_map_lookup_elem(fd, &key, &value) != 0) {
      if (errno == ENOENT) continue;  // unbound while we read
      return BpfError(errno, absl::StrCat("read map ", FW_PIN_VETH_BIG));
    }
    if (value.ifindex == key) (*bindings)[static_cast<int>(key)] = AddressesOf(value);
  }
  if (errno != ENOENT) return BpfError(errno, absl::StrCat("read map ", FW_PIN_VETH_BIG));
  return absl::OkStatus();
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
    value.addrs[i] = compiler::ToAbi(addresses[i]);
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
  if (value.ifindex != key) return std::vector<compiler::IpAddress>{};
  return AddressesOf(value);
}

absl::StatusOr<std::map<int, std::vector<compiler::IpAddress>>> BoundVeths(
    const Datapath& datapath) {
  std::map<int, std::vector<compiler::IpAddress>> bindings;
  if (absl::Status status = ReadArrayBindings(datapath, &bindings); !status.ok()) return status;
  if (absl::Status status = ReadHashBindings(datapath, &bindings); !status.ok()) return status;
  return bindings;
}

}  // namespace flatwall::agent
