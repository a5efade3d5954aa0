#include "api-watch/kubeconfig.h"

#include <exception>
#include <functional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "policy-compiler/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace flatwall::apiwatch {
namespace {

// Reads fields of one YAML mapping, remembering the path for messages
// ("clusters[0].cluster.server").
class FieldReader {
 public:
  FieldReader(const std::string& file_name, const YAML::Node& node, std::string path)
      : file_name_(file_name), node_(node), path_(std::move(path)) {}

  absl::Status Error(const YAML::Node& at, const std::string& field,
                     const std::string& problem) const {
    int line = at.Mark().line >= 0 ? at.Mark().line + 1 : Line();
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file_name_, " line ", line,
                                                   ": ", Path(field), ": ", problem));
  }
  int Line() const { return node_.Mark().line + 1; }
  std::string Path(const std::string& field) const {
    return path_.empty() ? field : absl::StrCat(path_, ".", field);
  }

  absl::StatusOr<std::string> String(const std::string& field) const {
    YAML::Node value = node_[field];
    if (!value || value.IsNull()) return std::string();
    if (!value.IsScalar()) return Error(value, field, "must be a string");
    return value.Scalar();
  }
  absl::StatusOr<std::string> Base64(const std::string& field) const {
    FW_ASSIGN_OR_RETURN(std::string encoded, String(field));
    std::string decoded;
    if (!absl::Base64Unescape(encoded, &decoded)) {
      return Error(node_[field], field, "not base64");
    }
    return decoded;
  }
  absl::StatusOr<bool> Bool(const std::string& field) const {
    YAML::Node value = node_[field];
    if (!value || value.IsNull()) return false;
    bool result = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, result)) {
      return Error(value, field, "must be true or false");
    }
    return result;
  }
  bool Has(const std::string& field) const {
    YAML::Node value = node_[field];
    return value && !value.IsNull();
  }

 private:
  const std::string& file_name_;
  YAML::Node node_;
  std::string path_;
};

// Calls `parse`(name, body reader, line) for each {name, <body_field>} entry of the list
// `list_field`.
absl::Status ForEachNamed(
    const std::string& file_name, const YAML::Node& root, const std::string& list_field,
    const std::string& body_field,
    const std::function<absl::Status(const std::string&, const FieldReader&, int)>& parse) {
  FieldReader top(file_name, root, "");
  YAML::Node list = root[list_field];
  if (!list || list.IsNull()) return absl::OkStatus();
  if (!list.IsSequence()) return top.Error(list, list_field, "must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = absl::StrCat(list_field, "[", i, "]");
    const YAML::Node& entry = list[i];
    FieldReader entry_reader(file_name, entry, path);
    if (!entry.IsMap()) return top.Error(entry, path, "must be a mapping");
    FW_ASSIGN_OR_RETURN(std::string name, entry_reader.String("name"));
    if (name.empty()) return top.Error(entry, absl::StrCat(path, ".name"), "missing");
    YAML::Node body = entry[body_field];
    if (!body || body.IsNull()) body = YAML::Node(YAML::NodeType::Map);
    if (!body.IsMap()) return entry_reader.Error(body, body_field, "must be a mapping");
    FieldReader body_reader(file_name, body, absl::StrCat(path, ".", body_field));
    FW_RETURN_IF_ERROR(parse(name, body_reader, entry_reader.Line()));
  }
  return absl::OkStatus();
}

absl::Status Duplicate(const std::string& file_name, int line, const std::string& list,
                       const std::string& name) {
  return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file_name, " line ", line, ": ",
                                                 list, ": \"", name, "\" appears twice"));
}

absl::StatusOr<Kubeconfig> Parse(const YAML::Node& root, const std::string& file_name) {
  Kubeconfig config;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", file_name, " line ", root.Mark().line + 1,
                     ": not a kubeconfig (a YAML mapping)"));
  }
  FieldReader top(file_name, root, "");
  FW_ASSIGN_OR_RETURN(config.current_context, top.String("current-context"));
  config.current_context_line =
      root["current-context"] ? root["current-context"].Mark().line + 1 : 1;

  FW_RETURN_IF_ERROR(ForEachNamed(
      file_name, root, "clusters", "cluster",
      [&](const std::string& name, const FieldReader& body, int line) -> absl::Status {
        KubeconfigCluster cluster{.line = line};
        FW_ASSIGN_OR_RETURN(cluster.server, body.String("server"));
        FW_ASSIGN_OR_RETURN(cluster.certificate_authority, body.String("certificate-authority"));
        FW_ASSIGN_OR_RETURN(cluster.certificate_authority_data,
                            body.Base64("certificate-authority-data"));
        FW_ASSIGN_OR_RETURN(cluster.insecure_skip_tls_verify,
                            body.Bool("insecure-skip-tls-verify"));
        if (!config.clusters.emplace(name, std::move(cluster)).second) {
          return Duplicate(file_name, line, "clusters", name);
        }
        return absl::OkStatus();
      }));
  FW_RETURN_IF_ERROR(ForEachNamed(
      file_name, root, "users", "user",
      [&](const std::string& name, const FieldReader& body, int line) -> absl::Status {
        KubeconfigUser user{.line = line};
        FW_ASSIGN_OR_RETURN(user.client_certificate, body.String("client-certificate"));
        FW_ASSIGN_OR_RETURN(user.client_certificate_data, body.Base64("client-certificate-data"));
        FW_ASSIGN_OR_RETURN(user.client_key, body.String("client-key"));
        FW_ASSIGN_OR_RETURN(user.client_key_data, body.Base64("client-key-data"));
        FW_ASSIGN_OR_RETURN(user.token, body.String("token"));
        FW_ASSIGN_OR_RETURN(user.token_file, body.String("tokenFile"));
        for (const char* field : {"exec", "auth-provider", "username"}) {
          if (body.Has(field)) {
            user.unsupported = field;
            break;
          }
        }
        if (!config.users.emplace(name, std::move(user)).second) {
          return Duplicate(file_name, line, "users", name);
        }
        return absl::OkStatus();
      }));
  FW_RETURN_IF_ERROR(ForEachNamed(
      file_name, root, "contexts", "context",
      [&](const std::string& name, const FieldReader& body, int line) -> absl::Status {
        KubeconfigContext context{.line = line};
        FW_ASSIGN_OR_RETURN(context.cluster, body.String("cluster"));
        FW_ASSIGN_OR_RETURN(context.user, body.String("user"));
        if (!config.contexts.emplace(name, std::move(context)).second) {
          return Duplicate(file_name, line, "contexts", name);
        }
        return absl::OkStatus();
      }));
  return config;
}

}  // namespace

absl::StatusOr<Kubeconfig> ParseKubeconfig(const std::string& text, const std::string& file_name) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) {
      return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file_name, " is empty"));
    }
    return Parse(root, file_name);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file_name, " line ",
                                                   e.mark.line + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file_name, ": ", e.what()));
  }
}

}  // namespace flatwall::apiwatch
