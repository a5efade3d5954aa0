#include "tests/api-watch/testing/fake_kube_api.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/api-watch/testing/yaml_to_json.h"

namespace flatwall::apiwatch::testing {

using ::nlohmann::json;

namespace fake_kube_api_internal {

// Plain strings: absl::StrCat takes them (abseil's string_view is not std's here).
struct Resource {
  const char* kind;
  const char* api_version;
  const char* path;
  bool namespaced;
};

}  // namespace fake_kube_api_internal

// Stored without kind and apiVersion, as list items are sent; watch events add them.
struct FakeKubeApi::StoredObject {
  std::shared_ptr<const std::string> body;
  std::string uid;
  std::string creation_timestamp;
  int64_t generation = 0;
  std::string spec;  // NetworkPolicy only: the serialized spec, to tell when to bump generation
};

struct FakeKubeApi::HistoryEvent {
  int64_t version = 0;
  const Resource* resource = nullptr;
  const char* type;  // "ADDED", "MODIFIED", "DELETED"
  std::shared_ptr<const std::string> body;
};

struct FakeKubeApi::ListSnapshot {
  const Resource* resource = nullptr;
  int64_t version = 0;
  std::vector<std::shared_ptr<const std::string>> items;  // in key order
};

struct FakeKubeApi::Failure {
  std::string path_prefix;
  int status = 0;
  std::string body;
  int remaining = 0;
};

namespace {

using fake_kube_api_internal::Resource;

// How often a waiting watch checks whether the server is stopping.
constexpr std::chrono::milliseconds kStopPoll(50);

json StatusJson(int code, std::string_view reason, std::string_view message) {
  return {{"kind", "Status"},     {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"},  {"message", message}, {"reason", reason},
          {"code", code}};
}

// What the real server says for each status it can answer with.
std::string DefaultFailureBody(int status, const TestRequest& request) {
  const std::string& path = request.path;
  std::string resource = path.substr(path.rfind('/') + 1);
  bool watch = request.query.contains("watch");
  switch (status) {
    case 401:
      return StatusJson(status, "Unauthorized", "Unauthorized").dump();
    case 403: {
      std::string group = absl::StrContains(path, "networking.k8s.io") ? "networking.k8s.io" : "";
      return StatusJson(status, "Forbidden",
                        absl::StrCat(resource, " is forbidden: User \"system:serviceaccount:"
                                               "kube-system:flatwall\" cannot ",
                                     watch ? "watch" : "list", " resource \"", resource,
                                     "\" in API group \"", group, "\" at the cluster scope"))
          .dump();
    }
    case 410:
      return StatusJson(status, "Expired", "too old resource version").dump();
    case 429:
      return StatusJson(status, "TooManyRequests", "Too many requests, please try again later.")
          .dump();
    case 500:
      return StatusJson(status, "InternalError", "Internal error occurred: injected failure")
          .dump();
    case 503:
      return StatusJson(status, "ServiceUnavailable", "The server is currently unavailable")
          .dump();
    default:
      return StatusJson(status, "", absl::StrCat("injected failure ", status)).dump();
  }
}

std::string NowRfc3339() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

std::string ContinueToken(int64_t version, size_t start) {
  return absl::WebSafeBase64Escape(absl::StrCat(R"({"rv":)", version, R"(,"start":)", start, "}"));
}

bool ParseContinueToken(const std::string& token, int64_t& version, size_t& start) {
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) return false;
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("rv") || !parsed.contains("start") ||
      !parsed["rv"].is_number_integer() || !parsed["start"].is_number_unsigned()) {
    return false;
  }
  version = parsed["rv"].get<int64_t>();
  start = parsed["start"].get<size_t>();
  return true;
}

// A watch event line: the stored body with kind and apiVersion put in front.
std::string EventLine(const char* type, const Resource& resource, const std::string& body) {
  return absl::StrCat(R"({"type":")", type, R"(","object":{"kind":")", resource.kind,
                      R"(","apiVersion":")", resource.api_version, R"(",)",
                      absl::string_view(body).substr(1), "}\n");
}

std::string BookmarkLine(const Resource& resource, int64_t version) {
  return absl::StrCat(R"({"type":"BOOKMARK","object":{"kind":")", resource.kind,
                      R"(","apiVersion":")", resource.api_version,
                      R"(","metadata":{"resourceVersion":")", version, R"("}}})", "\n");
}

std::string ExpiredLine(int64_t requested, int64_t compacted) {
  return absl::StrCat(
      R"({"type":"ERROR","object":)",
      StatusJson(410, "Expired",
                 absl::StrCat("too old resource version: ", requested, " (", compacted, ")"))
          .dump(),
      "}\n");
}

constexpr Resource kResources[] = {
    {"Namespace", "v1", "/api/v1/namespaces", false},
    {"Pod", "v1", "/api/v1/pods", true},
    {"Service", "v1", "/api/v1/services", true},
    {"NetworkPolicy", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1/networkpolicies",
     true}};

const Resource* ResourceByKind(std::string_view kind) {
  for (const auto& resource : kResources) {
    if (std::string_view(resource.kind) == kind) return &resource;
  }
  return nullptr;
}

const Resource* ResourceByPath(std::string_view path) {
  for (const auto& resource : kResources) {
    if (std::string_view(resource.path) == path) return &resource;
  }
  return nullptr;
}

}  // namespace

FakeKubeApi::FakeKubeApi(FakeKubeApiOptions options) : options_(std::move(options)) {
  server_ = std::make_unique<TestApiServer>(
      [this](const TestRequest& request, TestConnection& connection) {
        Handle(request, connection);
      },
      options_.server);
}

FakeKubeApi::~FakeKubeApi() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  server_.reset();
}

std::string FakeKubeApi::url() const { return server_->url(); }

absl::StatusOr<json> FakeKubeApi::Upsert(json object) {
  if (!object.is_object()) return absl::InvalidArgumentError("an object must be a JSON object");
  std::string kind = object.value("kind", json()).is_string() ? object["kind"].get<std::string>()
                                                                : "";
  const Resource* resource = ResourceByKind(kind);
  if (resource == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported kind \"", kind, "\""));
  }
  json& metadata = object["metadata"];
  if (!metadata.is_object() || !metadata.value("name", json()).is_string() ||
      metadata["name"].get<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, ": metadata.name is required"));
  }
  if (resource->namespaced) {
    if (!metadata.value("namespace", json()).is_string()) metadata["namespace"] = "default";
  } else {
    metadata.erase("namespace");
  }
  std::string key = absl::StrCat(metadata.value("namespace", ""), "/",
                                 metadata["name"].get<std::string>());
  object["apiVersion"] = resource->api_version;

  std::lock_guard<std::mutex> lock(mutex_);
  auto& objects = objects_[std::string(resource->kind)];
  auto existing = objects.find(key);
  StoredObject stored;
  if (existing != objects.end()) {
    stored.uid = existing->second.uid;
    stored.creation_timestamp = existing->second.creation_timestamp;
    stored.generation = existing->second.generation;
  } else {
    stored.uid = absl::StrFormat("%08x-f1a7-4a11-8000-%012x", next_uid_, next_uid_);
    ++next_uid_;
    stored.creation_timestamp = NowRfc3339();
  }
  if (std::string_view(resource->kind) == "NetworkPolicy") {
    stored.spec = object.value("spec", json()).dump();
    bool spec_changed = existing == objects.end() || existing->second.spec != stored.spec;
    if (spec_changed) ++stored.generation;
    metadata["generation"] = stored.generation;
  }
  int64_t version = version_ + 1;
  metadata["resourceVersion"] = absl::StrCat(version);
  metadata["uid"] = stored.uid;
  metadata["creationTimestamp"] = stored.creation_timestamp;
  json body = object;
  body.erase("kind");
  body.erase("apiVersion");
  stored.body = std::make_shared<const std::string>(body.dump());
  std::shared_ptr<const std::string> event_body = stored.body;
  bool added = existing == objects.end();
  objects.insert_or_assign(std::move(key), std::move(stored));
  RecordLocked(*resource, added ? "ADDED" : "MODIFIED", std::move(event_body));
  return object;
}

absl::StatusOr<json> FakeKubeApi::Delete(const std::string& kind, const std::string& namespace_name,
                                         const std::string& name) {
  const Resource* resource = ResourceByKind(kind);
  if (resource == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported kind \"", kind, "\""));
  }
  std::string key = absl::StrCat(resource->namespaced ? namespace_name : "", "/", name);
  std::lock_guard<std::mutex> lock(mutex_);
  auto& objects = objects_[std::string(resource->kind)];
  auto existing = objects.find(key);
  if (existing == objects.end()) {
    return absl::NotFoundError(absl::StrCat(kind, " ", key, " not found"));
  }
  // The DELETED event carries the last state at the deletion's own resourceVersion.
  json body = json::parse(*existing->second.body);
  body["metadata"]["resourceVersion"] = absl::StrCat(version_ + 1);
  objects.erase(existing);
  RecordLocked(*resource, "DELETED", std::make_shared<const std::string>(body.dump()));
  body["kind"] = resource->kind;
  body["apiVersion"] = resource->api_version;
  return body;
}

absl::Status FakeKubeApi::UpsertManifestFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  absl::Status status = UpsertManifests(text.str());
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

absl::Status FakeKubeApi::UpsertManifests(std::string_view yaml_text) {
  absl::StatusOr<std::vector<json>> objects = ManifestsToJson(yaml_text);
  if (!objects.ok()) return objects.status();
  for (size_t i = 0; i < objects->size(); ++i) {
    absl::StatusOr<json> stored = Upsert(std::move((*objects)[i]));
    if (!stored.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("document ", i + 1, ": ", stored.status().message()));
    }
  }
  return absl::OkStatus();
}

std::optional<json> FakeKubeApi::Get(const std::string& kind, const std::string& namespace_name,
                                     const std::string& name) {
  const Resource* resource = ResourceByKind(kind);
  if (resource == nullptr) return std::nullopt;
  std::string key = absl::StrCat(resource->namespaced ? namespace_name : "", "/", name);
  std::lock_guard<std::mutex> lock(mutex_);
  auto objects = objects_.find(resource->kind);
  if (objects == objects_.end()) return std::nullopt;
  auto found = objects->second.find(key);
  if (found == objects->second.end()) return std::nullopt;
  json object = json::parse(*found->second.body);
  object["kind"] = resource->kind;
  object["apiVersion"] = resource->api_version;
  return object;
}

int64_t FakeKubeApi::resource_version() {
  std::lock_guard<std::mutex> lock(mutex_);
  return version_;
}

void FakeKubeApi::Compact(int64_t resource_version) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    compacted_ = std::max(compacted_, std::min(resource_version, version_));
    while (!history_.empty() && history_.front().version <= compacted_) history_.pop_front();
    std::erase_if(snapshots_, [this](const std::shared_ptr<const ListSnapshot>& snapshot) {
      return snapshot->version < compacted_;
    });
  }
  changed_.notify_all();
}

void FakeKubeApi::SetBookmarkInterval(absl::Duration interval) {
  std::lock_guard<std::mutex> lock(mutex_);
  options_.bookmark_interval = interval;
}

void FakeKubeApi::SetExpiredWatchReply(ExpiredWatchReply reply) {
  std::lock_guard<std::mutex> lock(mutex_);
  options_.expired_watch_reply = reply;
}

void FakeKubeApi::FailNext(std::string path_prefix, int status, std::string body, int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_.push_back({std::move(path_prefix), status, std::move(body), count});
}

void FakeKubeApi::ClearFailures() {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_.clear();
}

void FakeKubeApi::DropWatches() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++drop_epoch_;
  }
  changed_.notify_all();
}

void FakeKubeApi::InjectGarbageLine(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    garbage_lines_.push_back({version_, std::move(line)});
  }
  changed_.notify_all();
}

void FakeKubeApi::SetResponseDelay(absl::Duration delay) {
  std::lock_guard<std::mutex> lock(mutex_);
  response_delay_ = delay;
}

void FakeKubeApi::CloseNextConnectionImmediately(int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  close_next_ += count;
}

std::vector<TestRequest> FakeKubeApi::requests() { return server_->requests(); }

int FakeKubeApi::open_watches() {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_watches_;
}

bool FakeKubeApi::WaitForOpenWatches(int count, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [&] { return open_watches_ >= count; });
}

void FakeKubeApi::RecordLocked(const Resource& resource, const char* type,
                               std::shared_ptr<const std::string> body) {
  ++version_;
  history_.push_back({version_, &resource, type, std::move(body)});
  changed_.notify_all();
}

absl::StatusOr<std::shared_ptr<const FakeKubeApi::ListSnapshot>> FakeKubeApi::SnapshotLocked(
    const Resource& resource, int64_t version) {
  for (const auto& snapshot : snapshots_) {
    if (snapshot->resource == &resource && snapshot->version == version) return snapshot;
  }
  if (version != version_) {
    return absl::AbortedError(
        "The provided continue parameter is too old to display a consistent list result. You "
        "can start a new list without the continue parameter.");
  }
  auto snapshot = std::make_shared<ListSnapshot>();
  snapshot->resource = &resource;
  snapshot->version = version;
  auto objects = objects_.find(resource.kind);
  if (objects != objects_.end()) {
    snapshot->items.reserve(objects->second.size());
    for (const auto& [key, object] : objects->second) snapshot->items.push_back(object.body);
  }
  snapshots_.push_back(snapshot);
  while (snapshots_.size() > options_.max_list_snapshots) snapshots_.pop_front();
  return snapshot;
}

void FakeKubeApi::Handle(const TestRequest& request, TestConnection& connection) {
  std::optional<Failure> failure;
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (close_next_ > 0) {
      --close_next_;
      return;  // the server closes the connection with nothing written
    }
    delay = response_delay_;
    auto match = std::find_if(failures_.begin(), failures_.end(), [&](const Failure& candidate) {
      return absl::StartsWith(request.path, candidate.path_prefix);
    });
    if (match != failures_.end()) {
      failure = *match;
      if (--match->remaining <= 0) failures_.erase(match);
    }
  }
  if (delay > absl::ZeroDuration()) std::this_thread::sleep_for(absl::ToChronoMilliseconds(delay));
  if (failure) {
    WriteResponse(connection, failure->status,
                  failure->body.empty() ? DefaultFailureBody(failure->status, request)
                                        : failure->body);
    return;
  }
  const Resource* resource = ResourceByPath(request.path);
  if (request.method != "GET" || resource == nullptr) {
    WriteResponse(connection, 404,
                  StatusJson(404, "NotFound",
                             absl::StrCat("the server could not find the requested resource (",
                                          request.method, " ", request.path, ")"))
                      .dump());
    return;
  }
  auto watch = request.query.find("watch");
  if (watch != request.query.end() && (watch->second == "1" || watch->second == "true")) {
    ServeWatch(*resource, request, connection);
  } else {
    ServeList(*resource, request, connection);
  }
}

void FakeKubeApi::ServeList(const Resource& resource, const TestRequest& request,
                            TestConnection& connection) {
  size_t limit = 0;  // all
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    if (!absl::SimpleAtoi(it->second, &limit)) {
      WriteResponse(connection, 400, StatusJson(400, "BadRequest", "invalid limit").dump());
      return;
    }
  }
  absl::StatusOr<std::shared_ptr<const ListSnapshot>> snapshot;
  size_t start = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto token = request.query.find("continue");
    if (token != request.query.end() && !token->second.empty()) {
      int64_t version = 0;
      if (!ParseContinueToken(token->second, version, start)) {
        WriteResponse(connection, 400,
                      StatusJson(400, "BadRequest", "continue key is not valid").dump());
        return;
      }
      snapshot = version < compacted_
                     ? absl::AbortedError("compacted")
                     : SnapshotLocked(resource, version);
      if (!snapshot.ok()) {
        snapshot = absl::AbortedError(
            "The provided continue parameter is too old to display a consistent list result. "
            "You can start a new list without the continue parameter.");
      }
    } else {
      snapshot = SnapshotLocked(resource, version_);
    }
  }
  if (!snapshot.ok()) {
    WriteResponse(connection, 410,
                  StatusJson(410, "Expired", std::string(snapshot.status().message())).dump());
    return;
  }
  const ListSnapshot& list = **snapshot;
  start = std::min(start, list.items.size());
  size_t end = limit == 0 ? list.items.size() : std::min(list.items.size(), start + limit);
  std::string body = absl::StrCat(R"({"kind":")", resource.kind, R"(List","apiVersion":")",
                                  resource.api_version, R"(","metadata":{"resourceVersion":")",
                                  list.version, "\"");
  if (end < list.items.size()) {
    absl::StrAppend(&body, R"(,"continue":")", ContinueToken(list.version, end),
                    R"(","remainingItemCount":)", list.items.size() - end);
  }
  body += R"(},"items":[)";
  for (size_t i = start; i < end; ++i) {
    if (i > start) body += ',';
    body += *list.items[i];
  }
  body += "]}";
  WriteResponse(connection, 200, body);
}

void FakeKubeApi::ServeWatch(const Resource& resource, const TestRequest& request,
                             TestConnection& connection) {
  auto query = [&](const char* key) {
    auto it = request.query.find(key);
    return it == request.query.end() ? std::string() : it->second;
  };
  std::string from_text = query("resourceVersion");
  bool bookmarks = query("allowWatchBookmarks") == "true";
  absl::Time deadline = absl::InfiniteFuture();
  int timeout_seconds = 0;
  if (absl::SimpleAtoi(query("timeoutSeconds"), &timeout_seconds) && timeout_seconds > 0) {
    deadline = absl::Now() + absl::Seconds(timeout_seconds);
  }
  int64_t from = 0;
  if (!from_text.empty() && !absl::SimpleAtoi(from_text, &from)) {
    WriteResponse(connection, 400,
                  StatusJson(400, "BadRequest",
                             absl::StrCat("invalid resource version \"", from_text, "\""))
                      .dump());
    return;
  }

  std::unique_lock<std::mutex> lock(mutex_);
  deadline = std::min(deadline, absl::Now() + options_.max_watch_duration);
  if (from != 0 && from < compacted_) {
    int64_t compacted = compacted_;
    ExpiredWatchReply reply = options_.expired_watch_reply;
    lock.unlock();
    std::string line = ExpiredLine(from, compacted);
    if (reply == ExpiredWatchReply::kHttpStatus) {
      json status = json::parse(line)["object"];
      WriteResponse(connection, 410, status.dump());
    } else {
      WriteChunkedHeader(connection);
      connection.Write(absl::StrCat(Chunk(line), std::string(kLastChunk)));
    }
    return;
  }
  // From "" or "0": the current state as ADDED events, then what follows.
  std::string pending;
  int64_t seen = from;
  if (from == 0) {
    if (auto objects = objects_.find(resource.kind); objects != objects_.end()) {
      for (const auto& [key, object] : objects->second) {
        pending += EventLine("ADDED", resource, *object.body);
      }
    }
    seen = version_;
  }
  uint64_t drop_epoch = drop_epoch_;
  size_t garbage_seen = garbage_lines_.size();
  ++open_watches_;
  changed_.notify_all();
  lock.unlock();

  WriteChunkedHeader(connection);
  absl::Time next_bookmark = absl::Now() + options_.bookmark_interval;
  while (true) {
    lock.lock();
    auto has_news = [&] {
      return stopping_ || drop_epoch_ != drop_epoch || garbage_lines_.size() > garbage_seen ||
             version_ > seen || seen < compacted_;
    };
    absl::Duration interval = options_.bookmark_interval;
    bool bookmark_due = bookmarks && interval > absl::ZeroDuration();
    if (pending.empty() && !has_news()) {
      absl::Time wake = std::min(deadline, bookmark_due ? next_bookmark : absl::InfiniteFuture());
      auto wait = std::min(absl::ToChronoMilliseconds(std::max(wake - absl::Now(),
                                                               absl::ZeroDuration())),
                           std::chrono::milliseconds(kStopPoll));
      changed_.wait_for(lock, wait, has_news);
    }
    bool stop = stopping_ || connection.stopping();
    bool drop = drop_epoch_ != drop_epoch;
    bool end = false;
    if (seen < compacted_) {
      // Events this watch still had to send were forgotten.
      pending += ExpiredLine(seen, compacted_);
      end = true;
    } else {
      auto first = std::upper_bound(
          history_.begin(), history_.end(), seen,
          [](int64_t version, const HistoryEvent& event) { return version < event.version; });
      for (auto it = first; it != history_.end(); ++it) {
        for (; garbage_seen < garbage_lines_.size() &&
               garbage_lines_[garbage_seen].after_version < it->version;
             ++garbage_seen) {
          absl::StrAppend(&pending, garbage_lines_[garbage_seen].line, "\n");
        }
        if (it->resource == &resource) pending += EventLine(it->type, resource, *it->body);
      }
      seen = version_;
    }
    for (; garbage_seen < garbage_lines_.size(); ++garbage_seen) {
      absl::StrAppend(&pending, garbage_lines_[garbage_seen].line, "\n");
    }
    absl::Time now = absl::Now();
    if (bookmark_due && now >= next_bookmark && !end) {
      pending += BookmarkLine(resource, seen);
      next_bookmark = now + interval;
    }
    lock.unlock();

    if (stop) break;
    if (drop) {
      // The stream breaks in the middle of a line, without the terminating chunk.
      std::string line = BookmarkLine(resource, seen);
      connection.Write(Chunk(absl::StrCat(pending, line.substr(0, line.size() / 2))));
      break;
    }
    if (now >= deadline) end = true;
    if (!pending.empty() && !connection.Write(Chunk(pending))) break;
    pending.clear();
    if (end) {
      connection.Write(kLastChunk);
      break;
    }
  }
  lock.lock();
  --open_watches_;
  changed_.notify_all();
}

}  // namespace flatwall::apiwatch::testing
