#include "api-watch/resource_watcher.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
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

void ResourceWatcher::Emit(std::vector<compiler::ClusterEvent> events) {
  if (events.empty()) return;
  counters_.events_emitted += events.size();
  sink_(std::move(events));
}

absl::Status ResourceWatcher::List() {
  std::string path = PathOf(kind_);
  std::map<std::string, compiler::ClusterObject> listed;
  std::set<std::string> undecodable;
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
    ++counters_.list_pages;
    for (const absl::Status& error : page->item_errors) Problem(error);
    undecodable.insert(page->undecodable_keys.begin(), page->undecodable_keys.end());
    for (compiler::ClusterObject& object : page->items) {
      std::string key = compiler::ObjectKey(object);
      listed.insert_or_assign(std::move(key), std::move(object));
    }
    continue_token = std::move(page->continue_token);
    list_version = std::move(page->resource_version);
  } while (!continue_token.empty());

  // The differences against what was known: deletes, then upserts, each in key order. An
  // object listed but not decodable keeps its last good version (as a skipped watch event
  // would).
  std::vector<compiler::ClusterEvent> events;
  for (const auto& [key, object] : listed) {
    auto known = known_.find(key);
    if (known == known_.end() || !(known->second == object)) {
      events.push_back({compiler::ClusterEvent::kUpsert, object});
    }
  }
  std::vector<compiler::ClusterEvent> deletes;
  for (auto& [key, object] : known_) {
    if (listed.contains(key)) continue;
    if (undecodable.contains(key)) {
      listed.emplace(key, std::move(object));
    } else {
      deletes.push_back({compiler::ClusterEvent::kDelete, std::move(object)});
    }
  }
  events.insert(events.begin(), std::make_move_iterator(deletes.begin()),
                std::make_move_iterator(deletes.end()));
  known_ = std::move(listed);
  resource_version_ = std::move(list_version);
  synced_ = true;
  ++counters_.lists;
  Emit(std::move(events));
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
    auto [it, inserted] = known_.try_emplace(key, change.object);
    if (!inserted) {
      if (it->second == change.object) continue;  // e.g. a status heartbeat
      it->second = change.object;
    }
    events.push_back(std::move(change));
  }
  Emit(std::move(events));
}

}  // namespace flatwall::apiwatch
