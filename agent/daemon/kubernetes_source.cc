#include "agent/daemon/kubernetes_source.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <iterator>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/daemon/agent_log.h"
#include "api-watch/allocator_settings.h"
#include "api-watch/client_config.h"
#include "api-watch/http_transport.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// "pods" from "/api/v1/pods", as kubectl names resources.
std::string ResourceName(apiwatch::ResourceKind kind) {
  std::string_view path = apiwatch::CollectionPath(kind);
  return std::string(path.substr(path.rfind('/') + 1));
}

}  // namespace

// One resource's watcher and what the agent's thread reads of it. `watcher` and `transport`
// are used by the resource's thread only; the rest under Shared::mutex.
struct Resource {
  std::string name;
  std::unique_ptr<apiwatch::ApiTransport> transport;  // the shared one, observed
  std::unique_ptr<apiwatch::ResourceWatcher> watcher;
  bool listed = false;
  bool finished = false;  // its thread returned
  absl::Status failure;   // the last request's, while failing (not for a 410)
  absl::Time failing_since = absl::InfinitePast();
  ResourceWatchStats stats;
};

// The shared transport as one resource's watcher uses it, telling the source when that
// resource works again. A watch only returns when it ends (minutes later), so a recovery
// is seen sooner: after a failure, a watch is preceded by a one-item list that shows the
// server answers again (when it does not, its answer is the watch's), and the first bytes
// of a watch body count too.
class ObservedTransport : public apiwatch::ApiTransport {
 public:
  ObservedTransport(apiwatch::ApiTransport& inner, std::function<bool()> failing,
                    std::function<void()> recovered)
      : inner_(inner), failing_(std::move(failing)), recovered_(std::move(recovered)) {}

  absl::StatusOr<apiwatch::ApiResponse> Get(const std::string& path,
                                            const apiwatch::QueryParams& query) override {
    return inner_.Get(path, query);
  }

  void Cancel() override { inner_.Cancel(); }

  absl::StatusOr<apiwatch::ApiResponse> Watch(const std::string& path,
                                              const apiwatch::QueryParams& query,
                                              const ByteSink& on_bytes) override {
    if (failing_()) {
      // The probe's failure stands for the watch's: it would have failed alike.
      absl::StatusOr<apiwatch::ApiResponse> probe = inner_.Get(path, {{"limit", "1"}});
      if (!probe.ok() || probe->status != 200) return probe;
      recovered_();
    }
    bool seen = false;
    return inner_.Watch(path, query, [&](std::string_view bytes) {
      if (!seen) {
        seen = true;
        if (failing_()) recovered_();
      }
      on_bytes(bytes);
    });
  }

 private:
  apiwatch::ApiTransport& inner_;
  std::function<bool()> failing_;
  std::function<void()> recovered_;
};

struct KubernetesSource::Shared {
  ~Shared() {
    if (event_fd >= 0) close(event_fd);
  }

  // Wakes the agent's loop. Called with `mutex` held or not; an eventfd write is atomic.
  void Signal() const {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(event_fd, &one, sizeof(one));
  }

  // Sleeps for `delay` unless stopped meanwhile.
  void Sleep(absl::Duration delay) {
    std::unique_lock<std::mutex> lock(mutex);
    stop_changed.wait_for(lock, absl::ToChronoMilliseconds(delay), [this] { return stopping; });
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping;
  }

  // The watcher thread of `resource`: one protocol step after another until stopped.
  void Run(Resource& resource) {
    while (!Stopping()) {
      const char* verb = resource.watcher->resource_version().empty() ? "list" : "watch";
      absl::Duration delay = resource.watcher->Step();
      Record(resource, verb, &resource.watcher->last_status());
      if (delay > absl::ZeroDuration()) Sleep(delay);
    }
    std::lock_guard<std::mutex> lock(mutex);
    resource.finished = true;
    stop_changed.notify_all();
  }

  bool Failing(const Resource& resource) const {
    std::lock_guard<std::mutex> lock(mutex);
    return !resource.failure.ok();
  }

  // Copies the watcher's counters for the agent's thread (on the resource's thread: after a
  // step, or within one from the event sink), with the step's `status` when it ended (an
  // OK one when the server was seen answering). Signals the loop when the resource's
  // health or completeness changed.
  void Record(Resource& resource, const char* verb, const absl::Status* status) {
    const apiwatch::ResourceWatcher& watcher = *resource.watcher;
    const apiwatch::WatcherCounters& counters = watcher.counters();
    bool changed = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      ResourceWatchStats& stats = resource.stats;
      stats.lists = counters.lists;
      stats.watches = counters.watches;
      stats.relists = counters.expired;
      stats.failures = counters.failures;
      stats.malformed = counters.malformed;
      stats.events = counters.events_emitted;
      if (watcher.synced() && !resource.listed) {
        resource.listed = true;
        changed = true;
      }
      if (status == nullptr) {
        // Counters only.
      } else if (status->ok() || absl::IsAborted(*status)) {
        if (status->ok()) stats.last_success = absl::Now();
        changed |= !resource.failure.ok();
        resource.failure = absl::OkStatus();
      } else {
        absl::Status failure(status->code(),
                             absl::StrCat(verb, " ", resource.name, ": ",
                                          absl::StatusCodeToString(status->code()), ": ",
                                          status->message()));
        if (resource.failure.ok()) resource.failing_since = absl::Now();
        changed |= failure != resource.failure;
        resource.failure = std::move(failure);
      }
    }
    if (changed) Signal();
  }

  int event_fd = -1;
  std::shared_ptr<apiwatch::ApiTransport> transport;
  std::string description;
  absl::Duration stop_grace;
  std::vector<std::unique_ptr<Resource>> resources;  // in the order of the options' kinds

  mutable std::mutex mutex;
  std::condition_variable stop_changed;
  bool stopping = false;
  EventBatches queue;
};

absl::StatusOr<std::unique_ptr<KubernetesSource>> KubernetesSource::Connect(
    const KubernetesConnection& connection, KubernetesSourceOptions options) {
  apiwatch::LimitMallocArenas();  // before the transport's threads exist
  absl::StatusOr<apiwatch::ClientConfig> config = absl::FailedPreconditionError("unset");
  if (connection.kubeconfig.empty() && connection.context.empty()) {
    config = apiwatch::LoadInClusterConfig();
  }
  // Not in a cluster (or a kubeconfig asked for): the kubeconfig, $KUBECONFIG's or ~/.kube's.
  if (absl::IsFailedPrecondition(config.status())) {
    config = apiwatch::LoadKubeconfig(connection.kubeconfig, connection.context);
  }
  if (!config.ok()) return config.status();
  FW_ASSIGN_OR_RETURN(std::unique_ptr<apiwatch::HttpTransport> transport,
                      apiwatch::HttpTransport::Create(*config, {}));
  std::string description = absl::StrCat("kubernetes ", config->server, " as ", config->identity);
  return Start(std::shared_ptr<apiwatch::ApiTransport>(std::move(transport)),
               std::move(description), std::move(options));
}

absl::StatusOr<std::unique_ptr<KubernetesSource>> KubernetesSource::Start(
    std::shared_ptr<apiwatch::ApiTransport> transport, std::string description,
    KubernetesSourceOptions options) {
  apiwatch::LimitMallocArenas();
  auto shared = std::make_shared<Shared>();
  shared->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (shared->event_fd < 0) return absl::InternalError("eventfd");
  shared->transport = std::move(transport);
  shared->description = std::move(description);
  shared->stop_grace = options.stop_grace;
  for (apiwatch::ResourceKind kind : options.kinds) {
    auto resource = std::make_unique<Resource>();
    resource->name = ResourceName(kind);
    resource->stats.resource = resource->name;
    Resource* raw = resource.get();
    Shared* state = shared.get();  // the sink runs on the resource's thread, which holds `shared`
    apiwatch::ResourceWatcherOptions watcher_options = options.watcher;
    watcher_options.on_problem = [name = raw->name](const absl::Status& problem) {
      LogWarning(absl::StrCat("source: ", name, ": skipped: ", problem.message()));
    };
    const absl::Status ok;
    resource->transport = std::make_unique<ObservedTransport>(
        *shared->transport, [state, raw] { return state->Failing(*raw); },
        [state, raw, ok] { state->Record(*raw, "watch", &ok); });
    resource->watcher = std::make_unique<apiwatch::ResourceWatcher>(
        kind, *resource->transport,
        [state, raw, ok](EventBatches batches) {
          {
            // Under one lock: a Sync takes all of a step's changes or none of them.
            std::lock_guard<std::mutex> lock(state->mutex);
            for (std::vector<compiler::ClusterEvent>& batch : batches) {
              state->queue.push_back(std::move(batch));
            }
          }
          // Events arrived: the server answers.
          state->Record(*raw, "watch", &ok);
          state->Signal();
        },
        std::move(watcher_options));
    shared->resources.push_back(std::move(resource));
  }
  std::unique_ptr<KubernetesSource> source(new KubernetesSource(shared));
  for (const std::unique_ptr<Resource>& resource : shared->resources) {
    source->threads_.emplace_back(
        [shared, raw = resource.get()] { shared->Run(*raw); });
  }
  return source;
}

KubernetesSource::KubernetesSource(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

KubernetesSource::~KubernetesSource() {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  shared_->stopping = true;
  shared_->stop_changed.notify_all();
  // Requests in flight return Cancelled at once (a transport that cannot cancel lets
  // them run to their end).
  shared_->transport->Cancel();
  auto all_finished = [this] {
    for (const std::unique_ptr<Resource>& resource : shared_->resources) {
      if (!resource->finished) return false;
    }
    return true;
  };
  shared_->stop_changed.wait_for(lock, absl::ToChronoMilliseconds(shared_->stop_grace),
                                 all_finished);
  for (size_t i = 0; i < threads_.size(); ++i) {
    // A thread still inside a watch ends with it; it holds `shared_`, all it uses.
    if (shared_->resources[i]->finished) {
      threads_[i].join();
    } else {
      threads_[i].detach();
    }
  }
}

int KubernetesSource::fd() const { return shared_->event_fd; }

bool KubernetesSource::complete() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  for (const std::unique_ptr<Resource>& resource : shared_->resources) {
    if (!resource->listed) return false;
  }
  return true;
}

absl::StatusOr<EventBatches> KubernetesSource::Sync() {
  uint64_t ignored = 0;
  [[maybe_unused]] ssize_t drained = read(shared_->event_fd, &ignored, sizeof(ignored));
  std::lock_guard<std::mutex> lock(shared_->mutex);
  std::vector<std::string> unlisted;
  for (const std::unique_ptr<Resource>& resource : shared_->resources) {
    if (!resource->listed) unlisted.push_back(resource->name);
  }
  if (!unlisted.empty()) {
    return absl::UnavailableError(
        absl::StrCat("waiting for the first list of ", absl::StrJoin(unlisted, ", ")));
  }
  return std::exchange(shared_->queue, {});
}

absl::Status KubernetesSource::Health() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  for (const std::unique_ptr<Resource>& resource : shared_->resources) {
    if (resource->failure.ok()) continue;
    absl::Duration failing = absl::Trunc(absl::Now() - resource->failing_since, absl::Seconds(1));
    return absl::Status(resource->failure.code(),
                        absl::StrCat(resource->failure.message(), " (for ",
                                     absl::FormatDuration(failing), ")"));
  }
  return absl::OkStatus();
}

std::vector<std::string> KubernetesSource::Problems() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  std::vector<std::string> problems;
  for (const std::unique_ptr<Resource>& resource : shared_->resources) {
    if (!resource->failure.ok()) {
      problems.push_back(absl::StrCat(resource->failure.message(),
                                      " (retrying; what is enforced stays enforced)"));
    }
  }
  std::sort(problems.begin(), problems.end());
  return problems;
}

uint64_t KubernetesSource::failed_reads() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  uint64_t failures = 0;
  for (const std::unique_ptr<Resource>& resource : shared_->resources) {
    failures += resource->stats.failures;
  }
  return failures;
}

std::vector<ResourceWatchStats> KubernetesSource::WatchStats() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  std::vector<ResourceWatchStats> stats;
  for (const std::unique_ptr<Resource>& resource : shared_->resources) {
    stats.push_back(resource->stats);
  }
  return stats;
}

std::string KubernetesSource::Describe() const { return shared_->description; }

}  // namespace flatwall::agent
