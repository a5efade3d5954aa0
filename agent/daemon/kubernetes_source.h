// KubernetesSource: the agent's `--source kubernetes`. One ResourceWatcher per resource
// (namespaces, pods, networkpolicies, services — all namespaces, every pod: pods of other
// nodes are needed for identities), each on its own thread over one shared ApiTransport;
// their events are queued and an eventfd wakes the agent's loop.
//
// The first state is handed over only once every resource has listed completely, so a
// pod is never judged without its namespace's labels or with half the policies. After
// that, a resource whose list or watch fails makes Health() say so (with how long), and
// the watcher retries with backoff (resource_watcher.h); what is enforced stays.
//
// The source limits glibc's malloc arenas for the whole process (api-watch/
// allocator_settings.h): the lists' transient megabytes otherwise stay resident in one
// arena per transport thread.
//
// Stopping (the destructor) cancels the transport's requests in flight (ApiTransport::
// Cancel) and waits up to `stop_grace` for the threads; a thread still inside a request
// after that (a transport that cannot cancel lets a watch run to its timeoutSeconds) is
// left to end on its own — it holds everything it uses, so nothing it touches is
// destroyed under it — and the process may exit meanwhile.
//
// Not here: the list/watch protocol (api-watch/resource_watcher.h), HTTP and credentials
// (api-watch/http_transport.h, api-watch/client_config.h), applying the events
// (reconciler.h).
#ifndef FLATWALL_AGENT_DAEMON_KUBERNETES_SOURCE_H_
#define FLATWALL_AGENT_DAEMON_KUBERNETES_SOURCE_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/daemon/cluster_source.h"
#include "api-watch/api_object_decoder.h"
#include "api-watch/api_transport.h"
#include "api-watch/resource_watcher.h"

namespace flatwall::agent {

// Where the API server is and who the agent is. Both empty: in-cluster (the service
// account) when KUBERNETES_SERVICE_HOST is set, else the default kubeconfig.
struct KubernetesConnection {
  std::string kubeconfig;  // a kubeconfig file
  std::string context;     // a context of it; empty: its current-context
};

struct KubernetesSourceOptions {
  std::vector<apiwatch::ResourceKind> kinds = {
      apiwatch::ResourceKind::kNamespace, apiwatch::ResourceKind::kPod,
      apiwatch::ResourceKind::kNetworkPolicy, apiwatch::ResourceKind::kService};
  apiwatch::ResourceWatcherOptions watcher;  // its on_problem is set by the source
  absl::Duration stop_grace = absl::Seconds(1);
};

class KubernetesSource : public ClusterSource {
 public:
  // Loads the client configuration `connection` names (api-watch/client_config.h; its
  // errors), connects an HttpTransport and starts watching. Nothing is requested before
  // this returns, so an unreachable API server is not an error here: Health() says so.
  static absl::StatusOr<std::unique_ptr<KubernetesSource>> Connect(
      const KubernetesConnection& connection, KubernetesSourceOptions options = {});

  // Starts one thread per resource of `options.kinds` over `transport` (which must allow
  // concurrent requests). `description` names the server in Describe(). Internal when the
  // eventfd cannot be made.
  static absl::StatusOr<std::unique_ptr<KubernetesSource>> Start(
      std::shared_ptr<apiwatch::ApiTransport> transport, std::string description,
      KubernetesSourceOptions options = {});

  // Stops the threads (see the header comment for one still inside a request).
  ~KubernetesSource() override;
  KubernetesSource(const KubernetesSource&) = delete;
  KubernetesSource& operator=(const KubernetesSource&) = delete;

  // The eventfd: readable after events arrive or a resource's health changes.
  int fd() const override;
  // Whether every resource has listed once.
  bool complete() const override;
  // Unavailable naming the resources not listed yet before complete(); then the queued
  // events, in arrival order (each resource's in its own order). Never fails afterwards.
  absl::StatusOr<EventBatches> Sync() override;
  // The first failing resource (in `kinds` order) as of its last request:
  //   Unavailable("watch pods: Unavailable: GET /api/v1/pods?...: connection refused
  //   (for 12s)")
  // with the watcher's status code. A 410 (relisting) is not a failure.
  absl::Status Health() const override;
  // "watch pods: <status>" for each failing resource.
  std::vector<std::string> Problems() const override;
  uint64_t failed_reads() const override;
  std::vector<ResourceWatchStats> WatchStats() const override;
  std::string Describe() const override;

  struct Shared;  // what the threads share with the source; kubernetes_source.cc

 private:
  explicit KubernetesSource(std::shared_ptr<Shared> shared);

  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_KUBERNETES_SOURCE_H_
