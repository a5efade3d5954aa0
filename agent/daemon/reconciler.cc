#include "agent/daemon/reconciler.h"

#include <net/if.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <variant>

#include "absl/strings/str_cat.h"
#include "agent/host_routes.h"
#include "agent/pinned_tables.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

using compiler::IpcacheEntry;

// IP-cache entries ordered by key, as MapImage keeps them.
bool KeyLess(const IpcacheEntry& a, const IpcacheEntry& b) {
  return compiler::AbiLess(a.key, b.key);
}

// The node's own addresses as the IP cache holds them: always allowed. Sorted by key
// without duplicates, because NodeAddresses is (an address's byte order is its key's).
absl::StatusOr<std::vector<IpcacheEntry>> HostEntries() {
  FW_ASSIGN_OR_RETURN(std::vector<compiler::IpAddress> addresses, NodeAddresses());
  std::vector<IpcacheEntry> entries;
  for (const compiler::IpAddress& address : addresses) {
    IpcacheEntry entry{};
    entry.key.addr = compiler::ToAbi(address);
    entry.value.identity = FW_IDENTITY_HOST;
    entries.push_back(entry);
  }
  return entries;
}

// `pods` with the host entries merged in; a host address wins over a pod entry for the
// same address (only a host-network pod could share it, and those get no entries).
std::vector<IpcacheEntry> MergeHostEntries(const std::vector<IpcacheEntry>& pods,
                                           const std::vector<IpcacheEntry>& host) {
  std::vector<IpcacheEntry> merged;
  merged.reserve(pods.size() + host.size());
  std::set_union(host.begin(), host.end(), pods.begin(), pods.end(), std::back_inserter(merged),
                 KeyLess);
  return merged;
}

std::set<compiler::IpAddress> DesiredServices(const compiler::ClusterState& state) {
  std::set<compiler::IpAddress> addresses;
  for (const auto& [key, service] : state.services()) {
    addresses.insert(service.cluster_ips.begin(), service.cluster_ips.end());
  }
  return addresses;
}

bool TouchesServices(const std::vector<compiler::ClusterEvent>& events) {
  return std::any_of(events.begin(), events.end(), [](const compiler::ClusterEvent& event) {
    return std::holds_alternative<compiler::Service>(event.object);
  });
}

absl::Duration Since(absl::Time start) { return absl::Now() - start; }

}  // namespace

Reconciler::Reconciler(const Datapath& datapath, std::string node_name)
    : datapath_(datapath),
      node_name_(std::move(node_name)),
      writer_(datapath),
      attachments_(datapath) {}

Reconciler::~Reconciler() = default;

const compiler::MapImage& Reconciler::image() const { return compiler_->image(); }
const compiler::ClusterState& Reconciler::state() const { return compiler_->state(); }

compiler::MapImage Reconciler::DesiredImage() const {
  compiler::MapImage desired = compiler_->image();
  desired.ipcache = MergeHostEntries(desired.ipcache, host_entries_);
  return desired;
}

absl::StatusOr<ReconcileResult> Reconciler::Initialize(compiler::ClusterState state) {
  ReconcileResult result;
  absl::Time start = absl::Now();
  compiler_ = std::make_unique<compiler::IncrementalCompiler>(
      compiler::CompileOptions{.node_name = node_name_}, std::move(state));
  compiler_->image();  // the first compile happens here
  result.compile_time = Since(start);
  // Nothing is written yet: if reading the node's addresses fails, the next tick's
  // resync must still write the tables (and the agent must not report ready).
  needs_resync_ = true;
  FW_ASSIGN_OR_RETURN(host_entries_, HostEntries());
  FW_ASSIGN_OR_RETURN(ReconcileResult written, Resync());
  result.entries_written = written.entries_written;
  result.apply_time = written.apply_time;
  return result;
}

absl::Status Reconciler::WriteDiff(const compiler::MapDiff& diff, ReconcileResult& result) {
  if (diff.empty()) return absl::OkStatus();
  absl::Time start = absl::Now();
  absl::Status status = writer_.Apply(diff);
  result.apply_time += Since(start);
  if (!status.ok()) {
    needs_resync_ = true;
    return status;
  }
  result.entries_written += diff.size();
  return absl::OkStatus();
}

absl::StatusOr<ReconcileResult> Reconciler::Apply(
    const std::vector<compiler::ClusterEvent>& events) {
  ReconcileResult result;
  result.events = events.size();
  absl::Status first_error;
  for (const compiler::ClusterEvent& event : events) {
    absl::Time start = absl::Now();
    compiler::MapDiff diff = compiler_->Apply(event);
    result.compile_time += Since(start);
    // After a failed write only the compiler moves on; Resync writes the sum.
    if (needs_resync_) continue;
    first_error.Update(WriteDiff(diff, result));
  }
  if (TouchesServices(events) && !needs_resync_) first_error.Update(SyncServices());
  if (!first_error.ok()) return first_error;
  return result;
}

absl::StatusOr<ReconcileResult> Reconciler::Resync() {
  ReconcileResult result;
  needs_resync_ = true;
  FW_ASSIGN_OR_RETURN(compiler::MapImage pinned, ReadPinnedTables(datapath_));
  FW_ASSIGN_OR_RETURN(std::vector<compiler::IpAddress> pinned_services,
                      ReadPinnedServices(datapath_));
  services_ = std::set<compiler::IpAddress>(pinned_services.begin(), pinned_services.end());
  needs_resync_ = false;
  compiler::MapDiff diff = compiler::DiffImages(pinned, DesiredImage());
  absl::Status written = WriteDiff(diff, result);
  if (absl::IsResourceExhausted(written)) {
    // Make-before-break writes the new entries before deleting the old, which a full map
    // refuses for good. Endpoints and IP-cache entries of pods that are gone protect
    // nothing any more, so they may go first; rules and CIDR classes may not (the
    // endpoints still in place use them).
    compiler::MapDiff relief;
    relief.endpoints.deletes = diff.endpoints.deletes;
    relief.ipcache.deletes = diff.ipcache.deletes;
    if (!relief.empty()) {
      needs_resync_ = false;
      FW_RETURN_IF_ERROR(WriteDiff(relief, result));
      written = WriteDiff(diff, result);
    }
  }
  FW_RETURN_IF_ERROR(written);
  absl::Status services = SyncServices();
  if (!services.ok()) {
    needs_resync_ = true;
    return services;
  }
  return result;
}

absl::Status Reconciler::SyncServices() {
  std::set<compiler::IpAddress> desired = DesiredServices(compiler_->state());
  std::vector<compiler::IpAddress> added, removed;
  std::set_difference(desired.begin(), desired.end(), services_.begin(), services_.end(),
                      std::back_inserter(added));
  std::set_difference(services_.begin(), services_.end(), desired.begin(), desired.end(),
                      std::back_inserter(removed));
  absl::Status status = writer_.UpsertServices(added);
  if (status.ok()) status = writer_.DeleteServices(removed);
  if (!status.ok()) {
    needs_resync_ = true;
    return status;
  }
  services_ = std::move(desired);
  return absl::OkStatus();
}

absl::Status Reconciler::SyncHostAddresses() {
  FW_ASSIGN_OR_RETURN(std::vector<IpcacheEntry> now, HostEntries());
  compiler::MapDiff diff;
  std::set_difference(now.begin(), now.end(), host_entries_.begin(), host_entries_.end(),
                      std::back_inserter(diff.ipcache.upserts), KeyLess);
  std::vector<IpcacheEntry> gone;
  std::set_difference(host_entries_.begin(), host_entries_.end(), now.begin(), now.end(),
                      std::back_inserter(gone), KeyLess);
  for (const IpcacheEntry& entry : gone) diff.ipcache.deletes.push_back(entry.key);
  host_entries_ = std::move(now);
  if (diff.empty()) return absl::OkStatus();
  // A vanished node address may still be a pod's (unlikely, but the resync is exact).
  needs_resync_ = true;
  ReconcileResult ignored;
  FW_RETURN_IF_ERROR(WriteDiff(diff, ignored));
  needs_resync_ = !gone.empty();
  return absl::OkStatus();
}

std::vector<LocalPod> Reconciler::LocalPods() const {
  std::vector<LocalPod> pods;
  for (const auto& [key, pod] : compiler_->state().pods()) {
    if (pod.node_name != node_name_ || pod.host_network || pod.ips.empty()) continue;
    pods.push_back(LocalPod{key, pod.ips});
  }
  return pods;
}

absl::StatusOr<AttachReport> Reconciler::SyncInterfaces(const std::string& uplink) {
  FW_RETURN_IF_ERROR(SyncHostAddresses());
  FW_ASSIGN_OR_RETURN(auto routes, HostRouteInterfaces());
  FW_ASSIGN_OR_RETURN(AttachReport report, attachments_.Reconcile(LocalPods(), routes));
  int uplink_ifindex = 0;
  if (uplink.empty()) {
    absl::StatusOr<int> by_default_route = DefaultRouteInterface();
    if (by_default_route.ok()) uplink_ifindex = *by_default_route;
  } else {
    uplink_ifindex = static_cast<int>(if_nametoindex(uplink.c_str()));
    if (uplink_ifindex == 0) {
      return absl::NotFoundError(absl::StrCat("uplink interface ", uplink, " does not exist"));
    }
  }
  if (uplink_ifindex != 0 && uplink_ifindex != uplink_ifindex_) {
    FW_RETURN_IF_ERROR(attachments_.AttachUplink(uplink_ifindex));
    uplink_ifindex_ = uplink_ifindex;
  }
  return report;
}

}  // namespace flatwall::agent
