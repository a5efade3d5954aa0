// ResourceWatcher: the list-then-watch state machine for one resource (all namespaces),
// turning the API server's objects into the cluster events the directory source also
// produces. Independent of HTTP: it speaks through an ApiTransport, and it never sleeps
// itself — each Step says how long to wait — so tests drive it without a clock.
//
// The protocol, step by step:
// 1. List: GET the collection in pages (limit, continue) and emit the differences between
//    what was known and what is listed, in one batch: deletes for the vanished (in key
//    order), then upserts for new and changed objects (in the server's list order, which
//    is key order). Nothing is flushed, so a relist leaves unchanged objects enforced.
// 2. Watch from the list's resourceVersion (watch=1, allowWatchBookmarks=true,
//    timeoutSeconds). Events are emitted as they arrive, one batch per received piece of
//    the body; a MODIFIED that changes nothing the model holds is not emitted.
// 3. A watch that ends normally is resumed at once from the last resourceVersion seen
//    (of an event or a bookmark).
// 4. 410 Gone (the HTTP status or an ERROR event with code 410, also for an expired
//    continue token): relist at once (step 1).
// 5. Connection failures, timeouts, 429 and 5xx: retry the same step after an exponential
//    backoff with jitter, capped; a watch that delivered events before breaking restarts
//    the backoff.
// 6. 401/403: reported (status Unauthenticated/PermissionDenied naming the verb, the
//    resource, the identity the agent used and the server's message: "list pods
//    (/api/v1/pods): HTTP 403 Forbidden as <identity>: <message>") and retried slowly.
// Malformed lines and objects are skipped, counted and passed to the problem sink; they
// never stop the watch.
//
// What is known of each object is its key and the digest of its decoded form
// (object_digest.h), not the object: the consumer (the agent's compiler) keeps the objects,
// and a second copy per watcher was most of the client's memory (~1.3 KB per pod). So a
// delete after a relist carries only the object's identity (kind, namespace, name), which
// is all ClusterEvent promises for a delete.
// After each list the watcher calls malloc_trim(0): the pages parsed leave megabytes of
// free chunks that glibc would keep resident.
//
// Not here: the wire formats (watch_stream.h), object decoding (api_object_decoder.h),
// HTTP (http_transport.h), TLS and credentials, the agent's use of the events.
#ifndef FLATWALL_API_WATCH_RESOURCE_WATCHER_H_
#define FLATWALL_API_WATCH_RESOURCE_WATCHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api-watch/api_object_decoder.h"
#include "api-watch/api_transport.h"
#include "api-watch/watch_stream.h"
#include "policy-compiler/cluster_state.h"

namespace flatwall::apiwatch {

struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(1);
  absl::Duration max = absl::Seconds(30);  // cap, jitter included
  double multiplier = 2.0;
  double jitter = 0.2;  // each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
  // After 401/403: credentials or RBAC must change first, so retry slowly.
  absl::Duration auth_retry = absl::Seconds(60);
};

struct ResourceWatcherOptions {
  int64_t page_size = 500;          // `limit` of each list request
  int watch_timeout_seconds = 300;  // `timeoutSeconds` of each watch request
  BackoffPolicy backoff;
  // Uniform in [0, 1), for jitter. Default: a generator seeded from std::random_device.
  std::function<double()> random;
  // Told about each skipped line, object or list item (for the log). May be empty.
  std::function<void(const absl::Status&)> on_problem;
  // Who the requests are made as (ClientConfig::identity), named in 401/403 messages so
  // that the log says which credentials to fix. May be empty.
  std::string identity;
};

struct WatcherCounters {
  uint64_t lists = 0;  // complete lists (the first one and every relist)
  uint64_t list_pages = 0;
  uint64_t watches = 0;    // watch requests started
  uint64_t expired = 0;    // 410s, each followed by a relist
  uint64_t failures = 0;   // steps that ended in an error other than 410
  uint64_t malformed = 0;  // skipped watch lines and list items
  uint64_t events_emitted = 0;

  friend bool operator==(const WatcherCounters&, const WatcherCounters&) = default;
};

// Not thread-safe: one thread calls Step (or Run).
class ResourceWatcher {
 public:
  // Receives what one step changed, in order, in one call, so that a consumer applies it
  // whole (a relist's deletes never without its upserts); never empty, nor with an empty
  // batch. A watch step's events come as one batch; a list's differences as its deletes,
  // then each page's changes, a batch each (no array of every object is ever built).
  using EventSink = std::function<void(compiler::EventBatches)>;

  // `transport` must outlive the watcher.
  ResourceWatcher(ResourceKind kind, ApiTransport& transport, EventSink sink,
                  ResourceWatcherOptions options = {});

  // Makes one request of the protocol above (a whole paginated list, or one watch until it
  // ends) and returns how long to wait before the next Step: zero after success or a 410,
  // the backoff after a failure. last_status() tells how the step went.
  absl::Duration Step();

  // Calls Step and `sleep`(its delay) until `stopped` returns true (checked before each
  // step). A watch in progress is not interrupted by `stopped`: to stop at once, also
  // Cancel() the transport, which ends the step with Cancelled.
  void Run(const std::function<bool()>& stopped, const std::function<void(absl::Duration)>& sleep);

  // OK after a successful step; otherwise why the last one failed: Unavailable
  // (connection, 5xx, 429, garbage list), Unauthenticated (401), PermissionDenied (403),
  // FailedPrecondition (other 4xx), Aborted (410: relisting). For /readyz and the log.
  const absl::Status& last_status() const { return last_status_; }
  // Whether a full list has completed (the known objects reflect the server).
  bool synced() const { return synced_; }
  // Where the next watch starts; empty before the first list and when a relist is due.
  const std::string& resource_version() const { return resource_version_; }
  const WatcherCounters& counters() const { return counters_; }
  // How many objects are known (emitted and not deleted since).
  size_t known_count() const { return known_.size(); }
  // Whether the object with this ObjectKey is known.
  bool Knows(const std::string& key) const { return known_.contains(key); }

 private:
  absl::Status List();
  absl::Status WatchOnce();
  // Applies one piece of the watch body; sets expired_message when a 410 ERROR arrives.
  void HandleWatchBytes(std::string_view bytes, WatchStreamParser& parser,
                        std::string& expired_message, absl::Status& stream_error, bool& progressed);
  absl::Status HttpError(const char* verb, int status, std::string_view body) const;
  absl::Duration Backoff();
  void Problem(const absl::Status& status);
  void Emit(compiler::EventBatches batches);

  ResourceKind kind_;
  ApiTransport& transport_;
  EventSink sink_;
  ResourceWatcherOptions options_;
  // ObjectDigest of every object as last emitted, by ObjectKey.
  absl::flat_hash_map<std::string, uint64_t> known_;
  std::string resource_version_;
  bool synced_ = false;
  int consecutive_failures_ = 0;
  absl::Status last_status_;
  WatcherCounters counters_;
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_RESOURCE_WATCHER_H_
