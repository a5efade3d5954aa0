// TlsCredentials: the TLS side of a ClientConfig — the trusted CA certificates, the client
// certificate and key, the name the server's certificate must carry — parsed and checked
// once, then applied to the OpenSSL context of every connection the HTTP client opens. It
// also remembers why the last certificate verification failed and the last fatal alert
// the server sent, because cpprestsdk reports every TLS failure with the same few words.
//
// Not here: HTTP (http_transport.h), where the PEM data comes from (client_config.h).
#ifndef FLATWALL_API_WATCH_TLS_CREDENTIALS_H_
#define FLATWALL_API_WATCH_TLS_CREDENTIALS_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api-watch/client_config.h"

struct ssl_ctx_st;     // SSL_CTX
struct x509_st;        // X509
struct evp_pkey_st;    // EVP_PKEY
struct x509_store_ctx_st;  // X509_STORE_CTX
struct ssl_st;             // SSL

namespace flatwall::apiwatch {

// Thread-safe once created.
class TlsCredentials {
 public:
  // From `config`'s certificate_authority (PEM, one or more certificates; empty: the
  // system's trust store), client_certificate (PEM, leaf first, then any intermediates)
  // and client_key (PEM), for the server named `host` (a DNS name or an IP address, IPv6
  // without brackets). InvalidArgument naming the field that holds no valid PEM, when only
  // one of certificate and key is given, or when the key does not match the certificate.
  static absl::StatusOr<std::shared_ptr<TlsCredentials>> Create(const ClientConfig& config,
                                                                const std::string& host);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // Sets up a fresh client context: the trust store (only the configured CAs when there
  // are any), the client certificate and key, and — unless `verify` is false — the
  // requirement that the server's certificate names the host, with failures recorded.
  void Apply(ssl_ctx_st* context, bool verify);

  // Why the most recent certificate verification failed ("certificate has expired"), or ""
  // if the most recent one succeeded or none ran.
  std::string last_verify_failure() const;
  // The description of the fatal alert the server sent on the most recent connection that
  // received one since its handshake began ("certificate required", "unknown CA"), or "".
  std::string last_fatal_alert() const;
  // Clears both of the above. Called as a request starts, so that an earlier connection's
  // failure is not blamed for a later, unrelated one (a refused connection starts no
  // handshake, and a handshake can fail before verification).
  void ForgetFailures();

 private:
  TlsCredentials() = default;
  static int VerifyAndRecord(x509_store_ctx_st* store_context, void* self);
  static void RecordAlert(const ssl_st* ssl, int where, int value);

  std::string host_;
  bool host_is_ip_ = false;
  std::vector<x509_st*> authorities_;       // owned
  std::vector<x509_st*> client_chain_;      // owned; the leaf first
  evp_pkey_st* client_key_ = nullptr;       // owned
  mutable std::mutex mutex_;
  std::string last_verify_failure_;
  std::string last_fatal_alert_;
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_TLS_CREDENTIALS_H_
