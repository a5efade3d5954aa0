#include "policy-compiler/manifest_decoder.h"

#include <exception>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy-compiler/internal/core_v1_decoders.h"
#include "policy-compiler/internal/network_policy_decoder.h"
#include "policy-compiler/internal/yaml_documents.h"
#include "policy-compiler/internal/yaml_reader.h"

namespace flatwall::compiler {
namespace {

using internal::DocumentContext;
using internal::Field;
using internal::MapReader;

// How many nodes the readers may visit per document: a few per byte covers any document
// without aliases; aliases that expand beyond that are refused rather than walked.
constexpr int64_t kNodeBudgetBase = 100'000;
constexpr int64_t kNodeBudgetPerByte = 4;

enum class Kind { kNamespace, kPod, kService, kNetworkPolicy, kList };

struct KindInfo {
  Kind kind;
  const char* name;
  const char* api_version;
};

constexpr KindInfo kKinds[] = {
    {Kind::kNamespace, "Namespace", "v1"},
    {Kind::kPod, "Pod", "v1"},
    {Kind::kService, "Service", "v1"},
    {Kind::kNetworkPolicy, "NetworkPolicy", "networking.k8s.io/v1"},
    {Kind::kList, "List", "v1"},
};

// What an object is, and for a list what its items are when they do not say (the API
// server leaves apiVersion/kind out of the items of typed lists such as PodList).
struct ObjectType {
  Kind kind;
  std::optional<Kind> item_kind;
};

// Reads apiVersion and kind; nullopt after reporting when they are missing or unsupported.
// `implied` is the kind of a typed list's items, used when the item names none.
std::optional<ObjectType> ReadObjectType(MapReader& object, std::optional<Kind> implied) {
  Field api_version_field = object.Get("apiVersion");
  Field kind_field = object.Get("kind");
  std::optional<std::string> api_version = internal::ReadString(api_version_field);
  std::optional<std::string> kind = internal::ReadString(kind_field);
  if (implied && !api_version_field.present() && !kind_field.present()) {
    return ObjectType{*implied, std::nullopt};
  }
  if (!api_version || !kind) {
    if (!api_version_field.present()) api_version_field.Error("required");
    if (!kind_field.present()) kind_field.Error("required");
    return std::nullopt;
  }
  for (const KindInfo& info : kKinds) {
    bool typed_list = info.kind != Kind::kList && *kind == absl::StrCat(info.name, "List");
    if (*kind != info.name && !typed_list) continue;
    if (*api_version != info.api_version) {
      api_version_field.Error(absl::StrCat("unsupported apiVersion ", *api_version, " for kind ",
                                           *kind, " (want ", info.api_version, ")"));
      return std::nullopt;
    }
    if (typed_list) return ObjectType{Kind::kList, info.kind};
    return ObjectType{info.kind, std::nullopt};
  }
  kind_field.Error(absl::StrCat("unsupported kind ", *api_version, " ", *kind));
  return std::nullopt;
}

std::optional<ClusterObject> DecodeTyped(Kind kind, const Field& root, MapReader& object) {
  switch (kind) {
    case Kind::kNamespace:
      return internal::DecodeNamespace(root, object);
    case Kind::kPod:
      return internal::DecodePod(root, object);
    case Kind::kService:
      return internal::DecodeService(root, object);
    case Kind::kNetworkPolicy:
      return internal::DecodeNetworkPolicy(root, object);
    case Kind::kList:
      break;
  }
  return std::nullopt;
}

// Decodes one object (a document root or a List item) into `objects` if it is valid.
// Lists are expanded; `in_list` forbids a List inside a List (kubectl output never has
// one, and refusing it keeps aliases from making a List contain itself).
void DecodeObject(const Field& root, std::optional<Kind> implied, bool in_list,
                  std::vector<ClusterObject>& objects) {
  if (!root.present() || !root.node().IsMap()) {
    root.TypeError("a map (an object with apiVersion and kind)");
    return;
  }
  DocumentContext& context = root.context();
  size_t errors_before = context.errors().size();
  MapReader object(root);
  std::optional<ObjectType> type = ReadObjectType(object, implied);
  if (!type) return;
  if (type->kind == Kind::kList) {
    if (in_list) {
      root.Error("a list inside a List is not supported");
      return;
    }
    // Only `items` matters; the list's own metadata (resourceVersion, ...) is ignored.
    for (const Field& item : internal::ReadList(object.Get("items"))) {
      DecodeObject(item, type->item_kind, /*in_list=*/true, objects);
    }
    return;
  }
  std::optional<ClusterObject> decoded = DecodeTyped(type->kind, root, object);
  if (decoded && context.errors().size() == errors_before) {
    objects.push_back(*std::move(decoded));
  }
}

// Decodes one parsed document into `result`, all or nothing when the node budget runs out.
void DecodeDocument(std::string_view file_name, const YAML::Node& root,
                    const internal::DocumentChunk& chunk, int content_line, DecodeResult& result) {
  if (root.IsNull()) return;  // an empty document, e.g. after a trailing `---`
  int64_t budget = kNodeBudgetBase + kNodeBudgetPerByte * static_cast<int64_t>(chunk.text.size());
  DocumentContext context(file_name, chunk.first_line, budget);
  int line = context.FileLine(root);
  Field root_field = Field::Root(context, root, "", line > 0 ? line : content_line);
  std::vector<ClusterObject> objects;
  DecodeObject(root_field, std::nullopt, /*in_list=*/false, objects);
  if (context.exhausted()) {
    result.errors.push_back(
        DecodeError{SourceLocation{std::string(file_name), root_field.line()}, "",
                    absl::StrCat("document refused: reading it visits more than ", budget,
                                 " nodes (YAML aliases expanding it far beyond its size?)")});
    return;
  }
  for (ClusterObject& object : objects) result.objects.push_back(std::move(object));
  for (DecodeError& error : context.errors()) result.errors.push_back(std::move(error));
}

}  // namespace

std::string DecodeError::ToString() const {
  std::string text = location.file;
  if (location.line > 0) absl::StrAppend(&text, ":", location.line);
  absl::StrAppend(&text, ": ");
  if (!field_path.empty()) absl::StrAppend(&text, field_path, ": ");
  absl::StrAppend(&text, message);
  return text;
}

DecodeResult DecodeManifest(std::string_view file_name, std::string_view contents) {
  DecodeResult result;
  for (const internal::DocumentChunk& chunk : internal::SplitDocuments(contents)) {
    // Whatever yaml-cpp or the allocator throws stays inside this chunk.
    DecodeResult chunk_result;
    try {
      internal::ParsedChunk parsed = internal::ParseChunk(chunk);
      if (parsed.syntax_error) {
        chunk_result.errors.push_back(
            DecodeError{SourceLocation{std::string(file_name), parsed.syntax_error->line}, "",
                        std::move(parsed.syntax_error->message)});
      }
      for (const YAML::Node& document : parsed.documents) {
        DecodeDocument(file_name, document, chunk, parsed.content_line, chunk_result);
      }
    } catch (const std::exception& e) {
      chunk_result = DecodeResult();
      chunk_result.errors.push_back(
          DecodeError{SourceLocation{std::string(file_name), chunk.first_line + 1}, "",
                      absl::StrCat("internal error while decoding this document: ", e.what())});
    } catch (...) {
      chunk_result = DecodeResult();
      chunk_result.errors.push_back(
          DecodeError{SourceLocation{std::string(file_name), chunk.first_line + 1}, "",
                      "internal error while decoding this document"});
    }
    for (ClusterObject& object : chunk_result.objects) result.objects.push_back(std::move(object));
    for (DecodeError& error : chunk_result.errors) result.errors.push_back(std::move(error));
  }
  return result;
}

}  // namespace flatwall::compiler
