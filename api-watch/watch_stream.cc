#include "api-watch/watch_stream.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/status_macros.h"

namespace flatwall::apiwatch {
namespace {

using nlohmann::json;

// Fields that no decoder reads and that make up most of a typical object's bytes, by the
// name of the object (or list) holding them; items of a list count as held by the list's
// name ("containers"). Dropping them while parsing saves their allocations, about 40% of
// the parse time of a pod as kubelet and controllers fill it. The holder's name matters:
// a label may well be called "env" or "resources".
constexpr std::pair<std::string_view, std::string_view> kUnreadFields[] = {
    {"metadata", "managedFields"},
    {"metadata", "ownerReferences"},
    {"spec", "volumes"},
    {"spec", "affinity"},
    {"spec", "tolerations"},
    {"status", "conditions"},
    {"status", "containerStatuses"},
    {"status", "initContainerStatuses"},
    {"containers", "env"},
    {"containers", "resources"},
    {"containers", "volumeMounts"},
    {"containers", "readinessProbe"},
    {"containers", "livenessProbe"},
    {"containers", "startupProbe"},
    {"initContainers", "env"},
    {"initContainers", "resources"},
    {"initContainers", "volumeMounts"}};

// Tracks the name of each open object or list through nlohmann's parse callbacks, which
// report the depth of every event (but no end event for a dropped value, hence the
// resize to the reported depth rather than a pop).
class UnreadFieldFilter {
 public:
  bool Keep(int depth, json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::key: {
        holders_.resize(static_cast<size_t>(depth));
        last_key_ = parsed.get_ref<const std::string&>();
        std::string_view holder = holders_.empty() ? std::string_view() : holders_.back().name;
        return std::find(std::begin(kUnreadFields), std::end(kUnreadFields),
                         std::pair<std::string_view, std::string_view>(holder, last_key_)) ==
               std::end(kUnreadFields);
      }
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        holders_.resize(static_cast<size_t>(depth));
        bool in_list = !holders_.empty() && holders_.back().is_list;
        std::string name = in_list ? holders_.back().name : last_key_;
        holders_.push_back({std::move(name), event == json::parse_event_t::array_start});
        return true;
      }
      default:
        return true;
    }
  }

 private:
  struct Holder {
    std::string name;
    bool is_list = false;
  };
  std::vector<Holder> holders_;
  std::string last_key_;
};

// Parses without letting an exception out; InvalidArgument with nlohmann's reason.
absl::StatusOr<json> ParseJson(std::string_view text) {
  UnreadFieldFilter filter;
  try {
    return json::parse(text.begin(), text.end(),
                       [&filter](int depth, json::parse_event_t event, json& parsed) {
                         return filter.Keep(depth, event, parsed);
                       });
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", e.what()));
  }
}

std::string StringAt(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string ResourceVersionOf(const json& object) {
  if (!object.is_object()) return "";
  auto metadata = object.find("metadata");
  return metadata == object.end() ? "" : StringAt(*metadata, "resourceVersion");
}

std::string Shorten(std::string_view text) {
  constexpr size_t kMax = 200;
  if (text.size() <= kMax) return std::string(text);
  return absl::StrCat(std::string(text.substr(0, kMax)), "...");
}

}  // namespace

absl::StatusOr<ListPage> DecodeListPage(ResourceKind kind, std::string_view body) {
  FW_ASSIGN_OR_RETURN(json list, ParseJson(body));
  if (!list.is_object()) return absl::InvalidArgumentError("list response is not an object");
  auto items = list.find("items");
  // An empty list may come with "items": null.
  if (items != list.end() && !items->is_null() && !items->is_array()) {
    return absl::InvalidArgumentError("list response: items must be a list");
  }
  ListPage page;
  page.resource_version = ResourceVersionOf(list);
  if (page.resource_version.empty()) {
    return absl::InvalidArgumentError("list response has no metadata.resourceVersion");
  }
  page.continue_token = StringAt(list.value("metadata", json::object()), "continue");
  if (items == list.end() || items->is_null()) return page;
  page.items.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = (*items)[i];
    absl::StatusOr<compiler::ClusterObject> object = DecodeApiObject(kind, item);
    if (object.ok()) {
      page.items.push_back(*std::move(object));
      continue;
    }
    page.item_errors.push_back(
        absl::InvalidArgumentError(absl::StrCat("items[", i, "]: ", object.status().message())));
    if (absl::StatusOr<compiler::ClusterObject> identity = DecodeApiObjectIdentity(kind, item);
        identity.ok()) {
      page.undecodable_keys.push_back(compiler::ObjectKey(*identity));
    }
  }
  return page;
}

std::string StatusMessageOf(std::string_view body) {
  absl::StatusOr<json> status = ParseJson(body);
  std::string message = status.ok() ? StringAt(*status, "message") : "";
  return message.empty() ? Shorten(body) : message;
}

void WatchStreamParser::Feed(std::string_view bytes, std::vector<absl::StatusOr<WatchEvent>>& out) {
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    std::string_view piece = bytes.substr(0, newline);
    bytes = newline == std::string_view::npos ? std::string_view() : bytes.substr(newline + 1);
    bool complete = newline != std::string_view::npos;

    if (!discarding_ && line_.size() + piece.size() > max_line_bytes_) {
      discarding_ = true;
      line_.clear();
      line_.shrink_to_fit();
    }
    if (discarding_) {
      if (complete) {
        discarding_ = false;
        out.push_back(absl::InvalidArgumentError(
            absl::StrCat("watch event longer than ", max_line_bytes_, " bytes, skipped")));
      }
      continue;
    }
    if (!complete) {
      line_.append(piece);
      continue;
    }
    // Most lines arrive whole within one chunk: decode them without copying.
    std::string_view line = piece;
    if (!line_.empty()) {
      line_.append(piece);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) out.push_back(DecodeLine(line));
    line_.clear();
  }
}

absl::StatusOr<WatchEvent> WatchStreamParser::DecodeLine(std::string_view line) const {
  absl::StatusOr<json> parsed = ParseJson(line);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch event ", parsed.status().message(), ": ", Shorten(line)));
  }
  const json& event = *parsed;
  std::string type = StringAt(event, "type");
  static constexpr std::pair<std::string_view, WatchEvent::Type> kTypes[] = {
      {"ADDED", WatchEvent::Type::kAdded},
      {"MODIFIED", WatchEvent::Type::kModified},
      {"DELETED", WatchEvent::Type::kDeleted},
      {"BOOKMARK", WatchEvent::Type::kBookmark},
      {"ERROR", WatchEvent::Type::kError}};
  const auto* found = std::find_if(std::begin(kTypes), std::end(kTypes),
                                   [&](const auto& entry) { return entry.first == type; });
  if (found == std::end(kTypes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch event with unknown type \"", Shorten(type), "\": ", Shorten(line)));
  }
  auto object_it = event.find("object");
  if (object_it == event.end() || !object_it->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch event ", type, " without an object: ", Shorten(line)));
  }
  const json& object = *object_it;

  WatchEvent result;
  result.type = found->second;
  switch (result.type) {
    case WatchEvent::Type::kError: {
      auto code = object.find("code");
      result.error_code = code != object.end() && code->is_number_integer() ? code->get<int>() : 0;
      result.error_message = StringAt(object, "message");
      return result;
    }
    case WatchEvent::Type::kBookmark:
      break;
    case WatchEvent::Type::kAdded:
    case WatchEvent::Type::kModified: {
      FW_ASSIGN_OR_RETURN(compiler::ClusterObject decoded, DecodeApiObject(kind_, object));
      result.event = compiler::ClusterEvent{compiler::ClusterEvent::kUpsert, std::move(decoded)};
      break;
    }
    case WatchEvent::Type::kDeleted: {
      // A delete needs only the key: one whose body no longer decodes must still go.
      absl::StatusOr<compiler::ClusterObject> decoded = DecodeApiObject(kind_, object);
      if (!decoded.ok()) decoded = DecodeApiObjectIdentity(kind_, object);
      if (!decoded.ok()) return decoded.status();
      result.event = compiler::ClusterEvent{compiler::ClusterEvent::kDelete, *std::move(decoded)};
      break;
    }
  }
  result.resource_version = ResourceVersionOf(object);
  if (result.resource_version.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch event ", type, " without metadata.resourceVersion"));
  }
  return result;
}

}  // namespace flatwall::apiwatch
