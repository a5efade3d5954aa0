// The Kubernetes list and watch wire formats, decoded into typed results: a list response
// (items, metadata.resourceVersion, metadata.continue) and the body of a watch response,
// which is a stream of JSON events, one per line, arriving in arbitrary chunks.
//
// Not here: decoding the objects themselves (api_object_decoder.h), deciding what to
// request next (resource_watcher.h), HTTP (http_transport.h).
#ifndef FLATWALL_API_WATCH_WATCH_STREAM_H_
#define FLATWALL_API_WATCH_WATCH_STREAM_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api-watch/api_object_decoder.h"
#include "policy-compiler/cluster_state.h"

namespace flatwall::apiwatch {

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  // kAdded, kModified: an upsert of the decoded object; kDeleted: a delete (the object
  // may hold only its identity when the rest did not decode). Unset otherwise.
  std::optional<compiler::ClusterEvent> event;
  // The object's metadata.resourceVersion (kBookmark: the only thing it carries); empty
  // for kError.
  std::string resource_version;
  // kError only: the metav1.Status the server sent, e.g. code 410 (Gone) with reason
  // "Expired" when the requested resourceVersion is too old.
  int error_code = 0;
  std::string error_message;
};

// One page of a list response.
struct ListPage {
  std::vector<compiler::ClusterObject> items;  // those that decoded, in list order
  // One entry per item that did not decode, saying which and why.
  std::vector<absl::Status> item_errors;
  // Keys (ObjectKey form) of the items that did not decode but whose identity did: the
  // caller should keep what it knew of them rather than treat them as deleted.
  std::vector<std::string> undecodable_keys;
  std::string resource_version;  // metadata.resourceVersion
  std::string continue_token;    // metadata.continue; empty on the last page
};

// Decodes a list response body for `kind`. InvalidArgument when the body is not a JSON
// object with an `items` list and a metadata.resourceVersion; bad items only go to
// item_errors.
absl::StatusOr<ListPage> DecodeListPage(ResourceKind kind, std::string_view body);

// The message of a metav1.Status body ("... too old resource version ..."), or the body
// itself cut short when it is not one: for error reports on non-2xx responses.
std::string StatusMessageOf(std::string_view body);

// Splits a watch body into lines as bytes arrive and decodes each into a WatchEvent.
// Not thread-safe.
class WatchStreamParser {
 public:
  // Lines longer than this (the API server's object limit is ~3 MiB) are dropped, and
  // reported, without being buffered whole.
  static constexpr size_t kDefaultMaxLineBytes = 16 << 20;

  explicit WatchStreamParser(ResourceKind kind, size_t max_line_bytes = kDefaultMaxLineBytes)
      : kind_(kind), max_line_bytes_(max_line_bytes) {}

  // Consumes `bytes` (any split of the stream) and appends one result per completed line,
  // in stream order: the event, or InvalidArgument for a line that is not a valid event
  // (bad JSON, unknown type, an object that does not decode), saying why. Parsing goes on
  // after a bad line. Blank lines are skipped.
  void Feed(std::string_view bytes, std::vector<absl::StatusOr<WatchEvent>>& out);

  // True when bytes of an unfinished line are pending (a stream that ends here was cut).
  bool has_partial_line() const { return !line_.empty() || discarding_; }

 private:
  absl::StatusOr<WatchEvent> DecodeLine(std::string_view line) const;

  ResourceKind kind_;
  size_t max_line_bytes_;
  std::string line_;         // the unfinished line
  bool discarding_ = false;  // inside an over-long line, skipping to its end
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_WATCH_STREAM_H_
