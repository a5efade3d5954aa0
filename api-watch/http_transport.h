// HttpTransport: ApiTransport over HTTP/1.1 or HTTPS with cpprestsdk's http_client, set up
// from a ClientConfig: the bearer token on every request (re-read from its file when the
// kubelet rotates it), TLS with the configured CA (or the system's), the client
// certificate, and the server's name verified unless insecure_skip_tls_verify. Watch bodies
// are read from the response's body stream as the chunks arrive (cpprestsdk hands the body
// over through a producer/consumer buffer filled while the request runs), so a watch is
// never buffered whole. Cancel() aborts requests in flight through pplx cancellation.
//
// Not here: loading a ClientConfig (client_config.h), the TLS details
// (tls_credentials.h), the protocol (resource_watcher.h).
#ifndef FLATWALL_API_WATCH_HTTP_TRANSPORT_H_
#define FLATWALL_API_WATCH_HTTP_TRANSPORT_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api-watch/api_transport.h"
#include "api-watch/bearer_token.h"
#include "api-watch/client_config.h"

namespace web::http {
class http_request;
namespace client {
class http_client;
}  // namespace client
}  // namespace web::http
namespace pplx {
class cancellation_token_source;
}  // namespace pplx

namespace flatwall::apiwatch {

class TlsCredentials;

struct HttpTransportOptions {
  // No byte for this long fails a request (DeadlineExceeded). Watches need longer than
  // their timeoutSeconds plus the bookmark interval (about a minute).
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration watch_timeout = absl::Minutes(6);
};

// Thread-safe: Get and Watch may run on several threads at once, Cancel on any thread.
class HttpTransport : public ApiTransport {
 public:
  // `config.server`: "http://host[:port]" or "https://host[:port]" (a path prefix is
  // kept). The TLS fields are used only for https. InvalidArgument when the URL is not
  // one of these, when both bearer_token and bearer_token_file are set, or for malformed
  // PEM data (naming the field); the errors of BearerToken::FromFile for an unreadable
  // token file.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Create(const ClientConfig& config,
                                                               HttpTransportOptions options = {});
  ~HttpTransport() override;

  // Errors as ApiTransport says, each naming the full URL; for https also Unavailable
  // "TLS: certificate verify failed for https://…: <reason>" when the server's certificate
  // is not trusted or does not name the server. Cancelled after Cancel().
  absl::StatusOr<ApiResponse> Get(const std::string& path, const QueryParams& query) override;
  absl::StatusOr<ApiResponse> Watch(const std::string& path, const QueryParams& query,
                                    const ByteSink& on_bytes) override;
  // Requests in flight return Cancelled within milliseconds (their connections are
  // closed); later ones return Cancelled at once. Cannot be undone.
  void Cancel() override;

 private:
  HttpTransport(std::string server, std::unique_ptr<web::http::client::http_client> client,
                std::unique_ptr<web::http::client::http_client> watch_client, BearerToken token,
                std::shared_ptr<TlsCredentials> tls);
  absl::Status FailureStatus(const std::string& uri, std::exception_ptr failure) const;
  // A GET of `uri` with the current bearer token.
  web::http::http_request NewRequest(const std::string& uri);

  std::string server_;  // for messages
  std::unique_ptr<web::http::client::http_client> client_;
  std::unique_ptr<web::http::client::http_client> watch_client_;  // its timeout is longer
  BearerToken token_;
  std::shared_ptr<TlsCredentials> tls_;  // null for http
  std::unique_ptr<pplx::cancellation_token_source> cancellation_;
  std::atomic<bool> cancelled_ = false;
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_HTTP_TRANSPORT_H_
