// The reconcile loop's state: keeps the pinned maps equal to what the compiler makes of
// the cluster state for this node — plus the entries the agent owns itself (the node's
// own addresses as FW_IDENTITY_HOST in the IP cache, the Services' ClusterIPs) — and the
// local pods' veths bound and attached.
//
// Every write is make-before-break (MapWriter). A write that fails (a map full, a
// kernel error) leaves what was enforced in place and marks the tables for a resync,
// which re-reads the pinned maps and writes the whole difference again: the same path an
// agent takes when it starts over maps pinned by its predecessor, so a restart or an
// upgrade neither flushes nor loses anything.
//
// Not here: where events come from (directory_source.h, api-watch/), the event loop and
// its timers (agent_daemon.h), metrics (metrics.h).
#ifndef FLATWALL_AGENT_DAEMON_RECONCILER_H_
#define FLATWALL_AGENT_DAEMON_RECONCILER_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/datapath.h"
#include "agent/map_writer.h"
#include "agent/veth_attachments.h"
#include "policy-compiler/compiler.h"

namespace flatwall::agent {

// What one reconcile step did, for the log and the metrics.
struct ReconcileResult {
  size_t events = 0;
  size_t entries_written = 0;  // map entries upserted or deleted
  absl::Duration compile_time;
  absl::Duration apply_time;
};

class Reconciler {
 public:
  // `datapath` must outlive the reconciler. Nothing is written until Initialize.
  Reconciler(const Datapath& datapath, std::string node_name);
  ~Reconciler();

  // The first full state (a directory's first read, an API list): compiles it, reads
  // what is pinned, and writes only the difference. Errors from the kernel; on error
  // needs_resync() is true and the caller retries with Resync().
  absl::StatusOr<ReconcileResult> Initialize(compiler::ClusterState state);

  // Applies the events' diff (after Initialize). On a write error the state still moves
  // on (the compiler has the events), needs_resync() becomes true, and the error is
  // returned.
  absl::StatusOr<ReconcileResult> Apply(const std::vector<compiler::ClusterEvent>& events);

  // Re-reads the pinned tables and writes whatever differs from the desired image.
  absl::StatusOr<ReconcileResult> Resync();
  bool needs_resync() const { return needs_resync_; }

  // Refreshes what the host namespace says: the node's addresses (IP-cache host entries)
  // and the routes to local pods, then binds/attaches every local pod whose veth is
  // routed, detaches pods that are gone, and attaches the uplink program to `uplink`
  // (an interface name; empty: the default route's interface; none: no uplink program).
  absl::StatusOr<AttachReport> SyncInterfaces(const std::string& uplink);

  // The current image (its info tables name identities, rules and pods for the verdict
  // log). Valid until the next call of a non-const method.
  const compiler::MapImage& image() const;
  const compiler::ClusterState& state() const;
  bool initialized() const { return compiler_ != nullptr; }
  // Local pods whose veth carries the programs.
  size_t AttachedPods() const { return attachments_.AttachedVeths().size(); }

 private:
  compiler::MapImage DesiredImage() const;
  absl::Status WriteDiff(const compiler::MapDiff& diff, ReconcileResult& result);
  absl::Status SyncServices();
  absl::Status SyncHostAddresses();
  std::vector<LocalPod> LocalPods() const;

  const Datapath& datapath_;
  std::string node_name_;
  MapWriter writer_;
  VethAttachments attachments_;
  std::unique_ptr<compiler::IncrementalCompiler> compiler_;
  std::vector<compiler::IpcacheEntry> host_entries_;  // sorted, as written
  std::set<compiler::IpAddress> services_;             // ClusterIPs as written
  bool needs_resync_ = false;
  int uplink_ifindex_ = 0;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_RECONCILER_H_
