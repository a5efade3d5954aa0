// ClientConfig: where the Kubernetes API server is and how the agent proves who it is —
// loaded from the pod's service account (in-cluster) or from a kubeconfig file — and
// nothing about requests themselves (http_transport.h uses a ClientConfig to connect).
//
// TLS verification is on unless the kubeconfig says insecure-skip-tls-verify: true.
#ifndef FLATWALL_API_WATCH_CLIENT_CONFIG_H_
#define FLATWALL_API_WATCH_CLIENT_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"

namespace flatwall::apiwatch {

struct ClientConfig {
  std::string server;  // "https://10.100.0.1:443" or "http://127.0.0.1:8080"
  // PEM. Empty certificate_authority: the system's trust store.
  std::string certificate_authority;
  std::string client_certificate;
  std::string client_key;
  // A fixed bearer token, or a file holding one that is re-read whenever it changes
  // (service-account tokens are rotated by the kubelet). At most one is set.
  std::string bearer_token;
  std::string bearer_token_file;
  bool insecure_skip_tls_verify = false;
  // Who the agent is, for messages about 401/403: "service account token
  // /var/run/secrets/kubernetes.io/serviceaccount/token", "kubeconfig /root/.kube/config
  // context dev user alice".
  std::string identity;
};

// Where in-cluster configuration comes from; tests point these at their own files.
struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
};

// From KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (IPv6 hosts bracketed) and the
// service account's token and CA. FailedPrecondition when the variables are unset (not in
// a cluster); NotFound/PermissionDenied naming the file that cannot be read.
absl::StatusOr<ClientConfig> LoadInClusterConfig(const InClusterPaths& paths = {});

// From kubeconfig `path` (empty: $KUBECONFIG's first file — the others of a colon-separated
// list are ignored, not merged as kubectl would — else ~/.kube/config; a leading ~/ is
// $HOME), context `context` (empty: current-context): server, certificate-authority(-data),
// client-certificate(-data), client-key(-data), token, tokenFile, insecure-skip-tls-verify.
// Inline *-data wins over the file; files are read now, relative paths resolved against
// the kubeconfig's directory; a tokenFile is kept as a file (re-read as it changes).
// InvalidArgument naming the file, line and field for a malformed file or a missing
// context/cluster/user/server; NotFound/PermissionDenied naming a file that cannot be read;
// Unimplemented for auth it cannot do (exec or auth-provider plugins, username/password),
// naming the user.
absl::StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context);

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_CLIENT_CONFIG_H_
