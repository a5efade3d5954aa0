#include "api-watch/client_config.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api-watch/kubeconfig.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::apiwatch {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// `what` names the file's role in messages ("service account CA").
absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream file(path);
  if (!file) {
    int error = errno;
    std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
    return absl::UnavailableError(message);
  }
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// A leading "~/" means $HOME.
std::string ExpandHome(const std::string& path) {
  if (path == "~" || absl::StartsWith(path, "~/")) return Env("HOME") + path.substr(1);
  return path;
}

// A path from a kubeconfig: relative ones are relative to the kubeconfig's directory.
std::string Resolve(const std::string& path, const std::string& kubeconfig_path) {
  std::string expanded = ExpandHome(path);
  if (expanded.empty() || expanded[0] == '/') return expanded;
  return (std::filesystem::path(kubeconfig_path).parent_path() / expanded).string();
}

// PEM data given inline or by file (the inline data wins, as in kubectl).
absl::StatusOr<std::string> DataOrFile(const std::string& data, const std::string& file,
                                       const std::string& kubeconfig_path,
                                       const std::string& what) {
  if (!data.empty() || file.empty()) return data;
  return ReadFile(Resolve(file, kubeconfig_path), absl::StrCat("kubeconfig ", kubeconfig_path,
                                                               ": ", what));
}

}  // namespace

absl::StatusOr<ClientConfig> LoadInClusterConfig(const InClusterPaths& paths) {
  std::string host = Env("KUBERNETES_SERVICE_HOST");
  std::string port = Env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return absl::FailedPreconditionError(
        "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT "
        "is unset");
  }
  in6_addr address;
  if (inet_pton(AF_INET6, host.c_str(), &address) == 1) host = absl::StrCat("[", host, "]");
  ClientConfig config;
  config.server = absl::StrCat("https://", host, ":", port);
  // Read once here so that a missing file is reported now; the transport re-reads the
  // token whenever it rotates.
  FW_RETURN_IF_ERROR(ReadFile(paths.token_file, "service account token").status());
  config.bearer_token_file = paths.token_file;
  FW_ASSIGN_OR_RETURN(config.certificate_authority, ReadFile(paths.ca_file, "service account CA"));
  config.identity = absl::StrCat("service account token ", paths.token_file);
  return config;
}

absl::StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  std::string file = path;
  if (file.empty()) {
    // Only the first file of a KUBECONFIG list; kubectl would merge them all.
    std::vector<std::string> listed = absl::StrSplit(Env("KUBECONFIG"), ':', absl::SkipEmpty());
    file = !listed.empty() ? listed[0] : "~/.kube/config";
  }
  file = ExpandHome(file);
  FW_ASSIGN_OR_RETURN(std::string text, ReadFile(file, "kubeconfig"));
  FW_ASSIGN_OR_RETURN(Kubeconfig kubeconfig, ParseKubeconfig(text, file));

  auto error = [&file](int line, const std::string& message) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file, " line ", line, ": ",
                                                   message));
  };
  std::string context_name = context.empty() ? kubeconfig.current_context : context;
  if (context_name.empty()) {
    return error(kubeconfig.current_context_line,
                 "current-context: not set, and no context was asked for");
  }
  auto found_context = kubeconfig.contexts.find(context_name);
  if (found_context == kubeconfig.contexts.end()) {
    std::string where = context.empty() ? "current-context" : "the asked-for context";
    return error(kubeconfig.current_context_line,
                 absl::StrCat(where, ": no context named \"", context_name, "\""));
  }
  const KubeconfigContext& chosen = found_context->second;
  auto found_cluster = kubeconfig.clusters.find(chosen.cluster);
  if (found_cluster == kubeconfig.clusters.end()) {
    return error(chosen.line, absl::StrCat("contexts \"", context_name,
                                           "\".cluster: no cluster named \"", chosen.cluster,
                                           "\""));
  }
  const KubeconfigCluster& cluster = found_cluster->second;
  if (cluster.server.empty()) {
    return error(cluster.line,
                 absl::StrCat("clusters \"", chosen.cluster, "\".server: missing"));
  }
  ClientConfig config;
  config.server = cluster.server;
  config.insecure_skip_tls_verify = cluster.insecure_skip_tls_verify;
  FW_ASSIGN_OR_RETURN(config.certificate_authority,
                      DataOrFile(cluster.certificate_authority_data,
                                 cluster.certificate_authority, file,
                                 absl::StrCat("cluster \"", chosen.cluster,
                                              "\" certificate-authority")));
  config.identity = absl::StrCat("kubeconfig ", file, " context ", context_name);
  // A context without a user is anonymous, which kubectl allows too.
  if (chosen.user.empty()) return config;
  auto found_user = kubeconfig.users.find(chosen.user);
  if (found_user == kubeconfig.users.end()) {
    return error(chosen.line, absl::StrCat("contexts \"", context_name,
                                           "\".user: no user named \"", chosen.user, "\""));
  }
  const KubeconfigUser& user = found_user->second;
  if (!user.unsupported.empty()) {
    return absl::UnimplementedError(
        absl::StrCat("kubeconfig ", file, " line ", user.line, ": user \"", chosen.user,
                     "\" authenticates with ", user.unsupported,
                     ", which flatwall does not support (use a token, a token file or a "
                     "client certificate)"));
  }
  absl::StrAppend(&config.identity, " user ", chosen.user);
  std::string user_what = absl::StrCat("user \"", chosen.user, "\" ");
  FW_ASSIGN_OR_RETURN(config.client_certificate,
                      DataOrFile(user.client_certificate_data, user.client_certificate, file,
                                 user_what + "client-certificate"));
  FW_ASSIGN_OR_RETURN(config.client_key, DataOrFile(user.client_key_data, user.client_key, file,
                                                    user_what + "client-key"));
  if (!user.token.empty()) {
    config.bearer_token = user.token;
  } else if (!user.token_file.empty()) {
    config.bearer_token_file = Resolve(user.token_file, file);
    FW_RETURN_IF_ERROR(
        ReadFile(config.bearer_token_file, absl::StrCat("kubeconfig ", file, ": ", user_what,
                                                        "tokenFile"))
            .status());
  }
  return config;
}

}  // namespace flatwall::apiwatch
