#include "api-watch/resource_watcher.h"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "api-watch/object_digest.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::apiwatch {
namespace {

std::function<double()> DefaultRandom() {
  auto generator = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [generator] { return std::uniform_real_distribution<double>(0.0, 1.0)(*generator); };
}

// "pods" from "/api/v1/pods", for messages in kubectl's words ("list pods").
std::string ResourceName(ResourceKind kind) {
  std::string_view path = CollectionPath(kind);
  return std::string(path.substr(path.rfind('/') + 1));
}

std::string PathOf(ResourceKind kind) { return std::string(CollectionPath(kind)); }

// An object of `kind` with only the identity its ObjectKey `key` gives ("name" or
// "namespace/name"): enough for a delete event.
compiler::ClusterObject IdentityOf(ResourceKind kind, const std::string& key) {
  size_t slash = key.find('/');
  std::string namespace_name = slash == std::string::npos ? "" : key.substr(0, slash);
  std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  switch (kind) {
    case ResourceKind::kNamespace:
      return compiler::Namespace{.name = key};
    case ResourceKind::kPod:
      return compiler::Pod{.namespace_name = std::move(namespace_name), .name = std::move(name)};
    case ResourceKind::kService:
      return compiler::Service{.namespace_name = std::move(namespace_name),
                               .name = std::move(name)};
    case ResourceKind::kNetworkPolicy:
      return compiler::NetworkPolicy{.namespace_name = std::move(namespace_name),
                                     .name = std::move(name)};
  }
  return compiler::Namespace{.name = key};
}

}  // namespace

ResourceWatcher::ResourceWatcher(ResourceKind kind, ApiTransport& transport, EventSink sink,
                                 ResourceWatcherOptions options)
    : kind_(kind), transport_(transport), sink_(std::move(sink)), options_(std::move(options)) {
  if (!options_.random) options_.random = DefaultRandom();
}

absl::Duration ResourceWatcher::Step() {
  last_status_ = resource_version_.empty() ? List() : WatchOnce();
  if (last_status_.ok()) {
    consecutive_failures_ = 0;
    return absl::ZeroDuration();
  }
  if (absl::IsAborted(last_status_)) {  // 410: relist now
    ++counters_.expired;
    resource_version_.clear();
    return absl::ZeroDuration();
  }
  ++counters_.failures;
  if (absl::IsUnauthenticated(last_status_) || absl::IsPermissionDenied(last_status_)) {
    return options_.backoff.auth_retry;
  }
  return Backoff();
}

void ResourceWatcher::Run(const std::function<bool()>& stopped,
                          const std::function<void(absl::Duration)>& sleep) {
  while (!stopped()) {
    absl::Duration delay = Step();
    if (delay > absl::ZeroDuration() && !stopped()) sleep(delay);
  }
}

absl::Duration ResourceWatcher::Backoff() {
  const BackoffPolicy& policy = options_.backoff;
  ++consecutive_failures_;
  double factor = std::pow(policy.multiplier, std::min(consecutive_failures_ - 1, 62));
  double jitter = 1.0 + policy.jitter * (2.0 * options_.random() - 1.0);
  absl::Duration delay = policy.initial * std::min(factor, 1e9) * jitter;
  return std::min(delay, policy.max);
}

absl::Status ResourceWatcher::HttpError(const char* verb, int status, std::string_view body) const {
  std::string request = absl::StrCat(verb, " ", ResourceName(kind_), " (", PathOf(kind_), ")");
  if (status == 401 || status == 403) {
    // The server's message names the user only for 403, and then as the server sees it.
    std::string as = options_.identity.empty() ? "" : absl::StrCat(" as ", options_.identity);
    std::string message =
        absl::StrCat(request, ": HTTP ", status, status == 401 ? " Unauthorized" : " Forbidden",
                     as, ": ", StatusMessageOf(body));
    return status == 401 ? absl::UnauthenticatedError(message)
                         : absl::PermissionDeniedError(message);
  }
  std::string message = absl::StrCat(request, ": HTTP ", status, ": ", StatusMessageOf(body));
  if (status == 410) return absl::AbortedError(message);
  if (status == 429 || status >= 500) return absl::UnavailableError(message);
  return absl::FailedPreconditionError(message);
}

void ResourceWatcher::Problem(const absl::Status& status) {
  ++counters_.malformed;
  if (options_.on_problem) options_.on_problem(status);
}

void ResourceWatcher::Emit(compiler::EventBatches batches) {
  std::erase_if(batches, [](const std::vector<compiler::ClusterEvent>& batch) {
    return batch.empty();
  });
  if (batches.empty()) return;
  for (const std::vector<compiler::ClusterEvent>& batch : batches) {
    counters_.events_emitted += batch.size();
  }
  sink_(std::move(batches));
}

absl::Status ResourceWatcher::List() {
  std::string path = PathOf(kind_);
  // What this list holds, by key: the digest of each object, so the differences against
  // known_ can be taken without a second copy of the objects (only the changed ones are
  // kept, to be emitted).
  absl::flat_hash_map<std::string, uint64_t> listed;
  // The deletes (added last), then the changed objects page by page: never one array of
  // every object, which would be copied as it grows (tens of MB at 100k pods).
  compiler::EventBatches changes(1);
  absl::flat_hash_set<std::string> undecodable;
  std::string continue_token;
  std::string list_version;
  do {
    QueryParams query = {{"limit", absl::StrCat(options_.page_size)}};
    if (!continue_token.empty()) query.emplace_back("continue", continue_token);
    FW_ASSIGN_OR_RETURN(ApiResponse response, transport_.Get(path, query));
    // A 410 here means the continue token expired: start the list over.
    if (response.status != 200) return HttpError("list", response.status, response.body);
    absl::StatusOr<ListPage> page = DecodeListPage(kind_, response.body);
    if (!page.ok()) {
      return absl::UnavailableError(absl::StrCat("list ", ResourceName(kind_), " (", path,
                                                 "): bad response: ", page.status().message()));
    }
    response = {};  // the page's text, before the next one is fetched
    ++counters_.list_pages;
    for (const absl::Status& error : page->item_errors) Problem(error);
    undecodable.insert(page->undecodable_keys.begin(), page->undecodable_keys.end());
    std::vector<compiler::ClusterEvent> changed;
    for (compiler::ClusterObject& object : page->items) {
      uint64_t digest = ObjectDigest(object);
      auto [entry, first] = listed.try_emplace(compiler::ObjectKey(object), digest);
      if (first) {
        auto known = known_.find(entry->first);
        if (known != known_.end() && known->second == digest) continue;
      } else {
        // Listed twice (the server's list is a snapshot, so not expected): the last wins.
        if (entry->second == digest) continue;
        entry->second = digest;
      }
      changed.push_back({compiler::ClusterEvent::kUpsert, std::move(object)});
    }
    if (!changed.empty()) changes.push_back(std::move(changed));
    continue_token = std::move(page->continue_token);
    list_version = std::move(page->resource_version);
  } while (!continue_token.empty());

  // Deletes first, in key order. An object listed but not decodable keeps its last good
  // version (as a skipped watch event would).
  std::vector<std::string> vanished;
  for (const auto& [key, digest] : known_) {
    if (listed.contains(key)) continue;
    if (undecodable.contains(key)) {
      listed.emplace(key, digest);
    } else {
      vanished.push_back(key);
    }
  }
  std::sort(vanished.begin(), vanished.end());
  for (const std::string& key : vanished) {
    changes.front().push_back({compiler::ClusterEvent::kDelete, IdentityOf(kind_, key)});
  }
  known_ = std::move(listed);
  resource_version_ = std::move(list_version);
  synced_ = true;
  ++counters_.lists;
  Emit(std::move(changes));
  // The pages parsed and the objects handed over leave megabytes of free chunks that
  // glibc keeps resident until asked (an arena's top excepted: allocator_settings.h).
  malloc_trim(0);
  return absl::OkStatus();
}

absl::Status ResourceWatcher::WatchOnce() {
  QueryParams query = {{"watch", "1"},
                       {"resourceVersion", resource_version_},
                       {"allowWatchBookmarks", "true"},
                       {"timeoutSeconds", absl::StrCat(options_.watch_timeout_seconds)}};
  WatchStreamParser parser(kind_);
  std::string expired_message;
  absl::Status stream_error;
  bool progressed = false;
  ++counters_.watches;
  absl::StatusOr<ApiResponse> response =
      transport_.Watch(PathOf(kind_), query, [&](std::string_view bytes) {
        HandleWatchBytes(bytes, parser, expired_message, stream_error, progressed);
      });
  // Events arrived, so the server was reachable: a failure now starts a fresh backoff.
  if (progressed) consecutive_failures_ = 0;
  if (!expired_message.empty()) {
    return absl::AbortedError(absl::StrCat("watch ", ResourceName(kind_), ": ", expired_message));
  }
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status > 299) {
    return HttpError("watch", response->status, response->body);
  }
  if (!stream_error.ok()) return stream_error;
  if (parser.has_partial_line()) {
    return absl::UnavailableError(
        absl::StrCat("watch ", ResourceName(kind_), ": the stream ended inside an event"));
  }
  return absl::OkStatus();
}

void ResourceWatcher::HandleWatchBytes(std::string_view bytes, WatchStreamParser& parser,
                                       std::string& expired_message, absl::Status& stream_error,
                                       bool& progressed) {
  // After an ERROR event the server ends the stream; nothing after it counts.
  if (!expired_message.empty() || !stream_error.ok()) return;
  std::vector<absl::StatusOr<WatchEvent>> results;
  parser.Feed(bytes, results);
  std::vector<compiler::ClusterEvent> events;
  for (absl::StatusOr<WatchEvent>& result : results) {
    if (!result.ok()) {
      Problem(result.status());
      continue;
    }
    WatchEvent& event = *result;
    if (event.type == WatchEvent::Type::kError) {
      std::string message =
          absl::StrCat("ERROR event ", event.error_code, ": ", event.error_message);
      if (event.error_code == 410) {
        expired_message = std::move(message);
      } else {
        stream_error =
            absl::UnavailableError(absl::StrCat("watch ", ResourceName(kind_), ": ", message));
      }
      break;
    }
    progressed = true;
    resource_version_ = std::move(event.resource_version);
    if (!event.event) continue;  // a bookmark
    compiler::ClusterEvent& change = *event.event;
    std::string key = compiler::ObjectKey(change.object);
    if (change.kind == compiler::ClusterEvent::kDelete) {
      if (known_.erase(key) > 0) events.push_back(std::move(change));
      continue;
    }
    uint64_t digest = ObjectDigest(change.object);
    auto [it, inserted] = known_.try_emplace(std::move(key), digest);
    if (!inserted) {
      if (it->second == digest) continue;  // e.g. a status heartbeat
      it->second = digest;
    }
    events.push_back(std::move(change));
  }
  compiler::EventBatches batches;  // not `{std::move(events)}`: that would copy the events
  batches.push_back(std::move(events));
  Emit(std::move(batches));
}

}  // namespace flatwall::apiwatch
