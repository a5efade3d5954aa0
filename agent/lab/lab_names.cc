#include "agent/lab/lab_names.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace flatwall::lab {
namespace {

// FNV-1a: a fixed, documented hash, so names do not change between builds or machines
// (std::hash may).
uint64_t StableHash(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

absl::Status ValidateLabName(const std::string& name) {
  bool valid = !name.empty() && name.size() <= 16;
  for (char c : name) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("lab name \"", name, "\" must be 1 to 16 lowercase letters or digits"));
  }
  return absl::OkStatus();
}

std::string NodeName(int index) { return absl::StrCat("node-", index); }

std::string HostVethName(const std::string& pod_key) {
  return absl::StrFormat("eni%011x", StableHash(pod_key) >> 20);
}

std::string HostVethMac(const std::string& pod_key) {
  uint64_t hash = StableHash(absl::StrCat("mac:", pod_key));
  return absl::StrFormat("02:%02x:%02x:%02x:%02x:%02x", (hash >> 32) & 0xff, (hash >> 24) & 0xff,
                         (hash >> 16) & 0xff, (hash >> 8) & 0xff, hash & 0xff);
}

std::string LabNames::NetnsPrefix() const { return absl::StrCat("fwlab-", lab_, "-"); }
std::string LabNames::FabricNetns() const { return absl::StrCat(NetnsPrefix(), "fabric"); }
std::string LabNames::NodeNetns(const std::string& node) const {
  return absl::StrCat(NetnsPrefix(), node);
}
std::string LabNames::PodNetns(int index) const { return absl::StrCat(NetnsPrefix(), "p", index); }

std::string LabNames::StateDir() const { return absl::StrCat(kStateRoot, "/", lab_); }
std::string LabNames::StateFile() const { return absl::StrCat(StateDir(), "/lab.json"); }
std::string LabNames::DesiredDir() const { return absl::StrCat(StateDir(), "/desired"); }
std::string LabNames::NodeDir(const std::string& node) const {
  return absl::StrCat(StateDir(), "/nodes/", node);
}
std::string LabNames::NodeManifestDir(const std::string& node) const {
  return absl::StrCat(NodeDir(node), "/manifests");
}
std::string LabNames::PodLogFile(const std::string& netns) const {
  return absl::StrCat(StateDir(), "/pods/", netns, ".log");
}
std::string LabNames::PodReadyFile(const std::string& netns) const {
  return absl::StrCat(StateDir(), "/pods/", netns, ".ready");
}

std::string LabNames::BpffsPrefix() const { return absl::StrCat("flatwall-lab-", lab_, "-"); }
std::string LabNames::BpffsRoot(const std::string& node) const {
  return absl::StrCat(kBpffsRoot, "/", BpffsPrefix(), node);
}

}  // namespace flatwall::lab
