#include "agent/bpf_flow_judge.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/map_writer.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// Load may fail after pinning some maps; the pin root is ours alone, so all of it goes.
void RemovePinRoot(const std::string& pin_root) {
  std::error_code ignored;
  std::filesystem::remove_all(pin_root, ignored);
}

}  // namespace

compiler::FlowJudge JudgeWithProber(FlowProber& prober, absl::Status* first_error) {
  return [&prober, first_error](const compiler::IpAddress& source,
                                const compiler::IpAddress& destination,
                                compiler::Protocol protocol, uint16_t port) {
    absl::StatusOr<FlowVerdict> verdict =
        prober.Probe({source, destination, static_cast<uint8_t>(protocol), port});
    if (verdict.ok()) return verdict->allowed;
    if (first_error->ok()) {
      *first_error = absl::Status(
          verdict.status().code(),
          absl::StrCat("probing ", source.ToString(), " -> ", destination.ToString(), ": ",
                       verdict.status().message()));
    }
    return false;
  };
}

std::string BpfFlowJudge::TemporaryPinRoot() {
  // Several judges may live in one process (the CLI tests run commands in-process).
  static std::atomic<int> next = 0;
  return absl::StrCat("/sys/fs/bpf/flatwall-cli-", getpid(), "-", next++);
}

absl::StatusOr<std::unique_ptr<BpfFlowJudge>> BpfFlowJudge::Create(
    const std::string& pin_root, const compiler::MapImage& image) {
  if (geteuid() != 0) {
    return absl::PermissionDeniedError(
        "loading the BPF datapath needs root (CAP_BPF and CAP_NET_ADMIN)");
  }
  std::error_code error;
  if (std::filesystem::exists(pin_root, error)) {
    return absl::AlreadyExistsError(absl::StrCat(pin_root, " already exists"));
  }
  absl::StatusOr<std::unique_ptr<Datapath>> datapath = Datapath::Load({.pin_root = pin_root});
  if (!datapath.ok()) {
    RemovePinRoot(pin_root);
    return datapath.status();
  }
  // From here the destructor removes the pins.
  std::unique_ptr<BpfFlowJudge> judge(new BpfFlowJudge(std::move(*datapath)));
  FW_RETURN_IF_ERROR(MapWriter(*judge->datapath_).Apply(
      compiler::DiffImages(compiler::MapImage{}, image)));
  return judge;
}

BpfFlowJudge::BpfFlowJudge(std::unique_ptr<Datapath> datapath)
    : datapath_(std::move(datapath)), prober_(*datapath_) {}

BpfFlowJudge::~BpfFlowJudge() {
  const std::string pin_root = datapath_->pin_root();
  // Uninstall leaves the directory when something unexpected is in it; it is ours.
  (void)datapath_->Uninstall();
  datapath_.reset();
  RemovePinRoot(pin_root);
}

}  // namespace flatwall::agent
