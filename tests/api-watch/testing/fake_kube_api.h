// FakeKubeApi: a stateful, in-process stand-in for the Kubernetes API server, on a
// TestApiServer, for tests and benchmarks of the api-watch client. It serves, for all
// namespaces, /api/v1/namespaces, /api/v1/pods, /api/v1/services and
// /apis/networking.k8s.io/v1/networkpolicies with the real wire protocol:
// - One global resourceVersion counter; every write (Upsert, Delete) takes the next value.
//   Objects are stored as API JSON with metadata.resourceVersion, uid and
//   creationTimestamp filled in, and metadata.generation for NetworkPolicies (bumped
//   when the spec changes), as the API server does.
// - Lists: `limit` and `continue`, served from a snapshot taken at the first page (as
//   etcd reads at the list's revision), so the pages of one list are consistent. The
//   continue token holds the snapshot's resourceVersion and the offset of the next item;
//   a token older than the compaction point gets 410 Expired, "The provided continue
//   parameter is too old ...".
// - Watches (`watch=1`): from `resourceVersion` N, every event after N of that resource
//   (from "" or "0": an ADDED per current object), then live events as they happen, as a
//   chunked stream of one JSON event per line. BOOKMARK events every bookmark interval when
//   allowWatchBookmarks=true. `timeoutSeconds` (and the optional watch duration cap)
//   ends the stream normally. A watch from before the compaction point gets 410, as an
//   HTTP status or as an ERROR event in a 200 stream (the real server does the latter).
// - Faults on demand: FailNext (any status and body for requests under a path prefix),
//   DropWatches (every open stream cut in the middle of an event), InjectGarbageLine,
//   SetResponseDelay, CloseNextConnectionImmediately.
// Thread-safe: tests write objects and inject faults from their own thread while watches
// stream on the server's connection threads.
//
// Not here: sockets and HTTP framing (test_api_server.h), YAML (yaml_to_json.h), admission
// or validation (objects are stored as given), namespaced collection paths
// (/api/v1/namespaces/x/pods), label/field selectors, other verbs than GET.
#ifndef FLATWALL_TESTS_API_WATCH_TESTING_FAKE_KUBE_API_H_
#define FLATWALL_TESTS_API_WATCH_TESTING_FAKE_KUBE_API_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/api-watch/testing/test_api_server.h"

namespace flatwall::apiwatch::testing {

namespace fake_kube_api_internal {
struct Resource;  // one served collection (fake_kube_api.cc)
}  // namespace fake_kube_api_internal

// How a watch from a compacted resourceVersion is refused.
enum class ExpiredWatchReply {
  kErrorEvent,  // 200, then one ERROR event with a 410 Status, then the end (the real server)
  kHttpStatus,  // HTTP 410 with a Status body
};

struct FakeKubeApiOptions {
  TestApiServerOptions server;
  // Zero: no bookmarks.
  absl::Duration bookmark_interval = absl::Seconds(60);
  // Every watch ends normally after this long, whatever its timeoutSeconds (the real
  // server also cuts watches short, at a random point of --min-request-timeout). Infinite:
  // only timeoutSeconds ends a watch. Tests set it short so a sequential Step returns soon.
  absl::Duration max_watch_duration = absl::InfiniteDuration();
  ExpiredWatchReply expired_watch_reply = ExpiredWatchReply::kErrorEvent;
  // How many list snapshots (for continue tokens) are kept; older tokens get 410.
  size_t max_list_snapshots = 8;
};

class FakeKubeApi {
 public:
  explicit FakeKubeApi(FakeKubeApiOptions options = {});
  // Ends every open watch (its writes fail) and joins the server's threads.
  ~FakeKubeApi();
  FakeKubeApi(const FakeKubeApi&) = delete;
  FakeKubeApi& operator=(const FakeKubeApi&) = delete;

  // "http://127.0.0.1:port".
  std::string url() const;

  // --- State -----------------------------------------------------------------------------

  // Creates or replaces the object named by its kind ("Pod", "Namespace", "Service",
  // "NetworkPolicy"), metadata.namespace (default "default" for namespaced kinds) and
  // metadata.name; watches see ADDED or MODIFIED. Returns the object as stored (with the
  // fields above filled in). InvalidArgument for an unknown kind or a missing name.
  absl::StatusOr<nlohmann::json> Upsert(nlohmann::json object);
  // Deletes it; watches see DELETED with its last state (at a new resourceVersion).
  // Returns that state; NotFound when there is no such object.
  absl::StatusOr<nlohmann::json> Delete(const std::string& kind, const std::string& namespace_name,
                                        const std::string& name);
  // Upserts every object of a manifest file or text (YAML, multi-document), in order.
  // NotFound for a missing file; InvalidArgument for bad YAML or objects, naming which.
  absl::Status UpsertManifestFile(const std::string& path);
  absl::Status UpsertManifests(std::string_view yaml_text);
  // The stored object, if any.
  std::optional<nlohmann::json> Get(const std::string& kind, const std::string& namespace_name,
                                    const std::string& name);

  // The resourceVersion of the last write (0 before any).
  int64_t resource_version();
  // Forgets the history up to and including `resource_version` (etcd's compaction): a
  // watch from an earlier version, and a continue token of a list taken at an earlier
  // version, now get 410. Compact(resource_version()) forgets all of it and frees its
  // memory; watches from the current version still work.
  void Compact(int64_t resource_version);

  // --- Settings and faults ---------------------------------------------------------------

  void SetBookmarkInterval(absl::Duration interval);
  void SetExpiredWatchReply(ExpiredWatchReply reply);
  // The next `count` requests whose path starts with `path_prefix` get `status` with
  // `body` (empty: a metav1.Status for the status, with a message naming the request).
  void FailNext(std::string path_prefix, int status, std::string body = "", int count = 1);
  // Forgets every failure FailNext queued and has not served yet.
  void ClearFailures();
  // Cuts every open watch stream in the middle of an event line (no terminating chunk).
  void DropWatches();
  // Sends `line` (plus '\n') on every open watch stream, between events.
  void InjectGarbageLine(std::string line = "{\"type\":\"ADDED\",\"object\":{not json");
  // Waits this long before answering each request (before the headers).
  void SetResponseDelay(absl::Duration delay);
  // The next `count` connections are closed before anything is written.
  void CloseNextConnectionImmediately(int count = 1);

  // --- Observation -----------------------------------------------------------------------

  // Every request so far, in arrival order.
  std::vector<TestRequest> requests();
  // Watch streams currently open (headers sent, not yet ended).
  int open_watches();
  // Waits until at least `count` watch streams are open; false on timeout.
  bool WaitForOpenWatches(int count, absl::Duration timeout);

 private:
  using Resource = fake_kube_api_internal::Resource;
  struct StoredObject;
  struct HistoryEvent;
  struct ListSnapshot;
  struct Failure;

  void Handle(const TestRequest& request, TestConnection& connection);
  void ServeList(const Resource& resource, const TestRequest& request,
                 TestConnection& connection);
  void ServeWatch(const Resource& resource, const TestRequest& request,
                  TestConnection& connection);
  // Records a write: bumps the version, appends to the history, wakes the watches.
  void RecordLocked(const Resource& resource, const char* type,
                    std::shared_ptr<const std::string> body);
  absl::StatusOr<std::shared_ptr<const ListSnapshot>> SnapshotLocked(const Resource& resource,
                                                                     int64_t version);

  FakeKubeApiOptions options_;

  std::mutex mutex_;
  std::condition_variable changed_;  // a write, a fault or the end: watches look again
  int64_t version_ = 0;
  int64_t compacted_ = 0;  // history at or before this version is forgotten
  int64_t next_uid_ = 1;
  // Per resource kind name: "ns/name" -> object. Ordered like etcd's keys.
  std::map<std::string, std::map<std::string, StoredObject>, std::less<>> objects_;
  std::deque<HistoryEvent> history_;  // in version order, after `compacted_`
  std::deque<std::shared_ptr<const ListSnapshot>> snapshots_;
  std::vector<Failure> failures_;
  // Lines injected after the write of `after_version`; a watch sends those added after it
  // opened, in that place among the events.
  struct GarbageLine {
    int64_t after_version = 0;
    std::string line;
  };
  std::vector<GarbageLine> garbage_lines_;
  uint64_t drop_epoch_ = 0;
  int close_next_ = 0;
  absl::Duration response_delay_ = absl::ZeroDuration();
  int open_watches_ = 0;
  bool stopping_ = false;

  // Last member: destroyed first, so no handler runs on a half-destroyed fake.
  std::unique_ptr<TestApiServer> server_;
};

}  // namespace flatwall::apiwatch::testing

#endif  // FLATWALL_TESTS_API_WATCH_TESTING_FAKE_KUBE_API_H_
