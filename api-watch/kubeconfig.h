// Kubeconfig: the parts of a kubeconfig file (kind: Config, v1) that the agent can use —
// clusters, users, contexts, current-context — parsed from YAML text, with *-data fields
// base64-decoded. Pure: no file or environment access (client_config.h finds the file,
// resolves the context and reads the files a kubeconfig refers to).
//
// Not here: choosing a context or turning it into a ClientConfig (client_config.h).
#ifndef FLATWALL_API_WATCH_KUBECONFIG_H_
#define FLATWALL_API_WATCH_KUBECONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace flatwall::apiwatch {

struct KubeconfigCluster {
  int line = 0;  // 1-based, of the entry, for messages
  std::string server;
  std::string certificate_authority;       // a file path, as written
  std::string certificate_authority_data;  // decoded PEM
  bool insecure_skip_tls_verify = false;
};

struct KubeconfigUser {
  int line = 0;
  std::string client_certificate;       // a file path, as written
  std::string client_certificate_data;  // decoded PEM
  std::string client_key;
  std::string client_key_data;
  std::string token;
  std::string token_file;
  // Auth the agent cannot do; set to the field's name ("exec", "auth-provider",
  // "username") when present.
  std::string unsupported;
};

struct KubeconfigContext {
  int line = 0;
  std::string cluster;
  std::string user;
};

struct Kubeconfig {
  std::string current_context;
  int current_context_line = 0;
  std::map<std::string, KubeconfigCluster> clusters;  // by name
  std::map<std::string, KubeconfigUser> users;
  std::map<std::string, KubeconfigContext> contexts;
};

// Parses `text`; `file_name` only names the file in messages. InvalidArgument
// "kubeconfig <file> line <n>: <field>: <problem>" for YAML that does not parse, a field of
// the wrong shape, an entry without a name, a duplicate name or a *-data field that is not
// base64. Unknown fields are ignored, as kubectl does.
absl::StatusOr<Kubeconfig> ParseKubeconfig(const std::string& text, const std::string& file_name);

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_KUBECONFIG_H_
